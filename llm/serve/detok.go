package serve

import (
	"strings"
	"unicode/utf8"

	"github.com/divellm/divellm/llm/tokenizer"
)

// detok turns generated ids into text one token at a time, for streaming. It never cuts a
// UTF-8 character in two (a byte-level BPE token may end inside one) and holds back text
// that could be the beginning of a stop string, so a stop string never reaches the client.
//
// Decoding follows the offsets scheme of Hugging Face's and vLLM's incremental
// detokenizers: the text of the new tokens is decode(ids[prefix:]) minus
// decode(ids[prefix:read]), where ids[prefix:read] are the tokens just before them. The
// previous tokens give WordPiece its "##" joins and spaces right, and decoding only a
// window keeps each step O(1) in the length of the text.
type detok struct {
	tok          tokenizer.Tokenizer
	ids          []int
	prefix, read int
	stops        []string
	held         string // text released by the decoder but not yet emitted (a possible stop prefix)
}

// newDetok starts a detokenizer whose context is the last tokens of the prompt.
func newDetok(tok tokenizer.Tokenizer, prompt []int, stops []string) *detok {
	ctx := prompt[max(0, len(prompt)-4):]
	d := &detok{tok: tok, ids: append([]int(nil), ctx...), stops: stops}
	d.read = len(d.ids)
	return d
}

// push adds one generated id and returns the text that can be emitted now, and whether a
// stop string was found (the returned text then ends just before it and nothing may follow).
func (d *detok) push(id int) (string, bool) {
	d.ids = append(d.ids, id)
	prev := d.tok.Decode(d.ids[d.prefix:d.read])
	full := d.tok.Decode(d.ids[d.prefix:])
	if len(full) <= len(prev) || !strings.HasPrefix(full, prev) {
		return "", false // no new text yet (e.g. the decoder merged across the boundary)
	}
	done, rest := splitComplete(full[len(prev):])
	if rest != "" {
		return "", false // the newest token ends inside a character: wait for its other bytes
	}
	d.prefix, d.read = d.read, len(d.ids)
	return d.release(strings.ToValidUTF8(done, "\uFFFD"))
}

// flush returns whatever is still held at the end of the sequence (an incomplete
// character becomes U+FFFD), cut at a stop string if one appears.
func (d *detok) flush() string {
	prev := d.tok.Decode(d.ids[d.prefix:d.read])
	full := d.tok.Decode(d.ids[d.prefix:])
	var tail string
	if len(full) > len(prev) && strings.HasPrefix(full, prev) {
		tail = strings.ToValidUTF8(full[len(prev):], "\uFFFD")
	}
	d.prefix, d.read = len(d.ids), len(d.ids)
	text, stopped := d.release(tail)
	if stopped {
		return text
	}
	text += d.held
	d.held = ""
	return text
}

// release appends text to the held text and returns the part that is safe to emit: all of
// it up to the first stop string (stopped = true), or all but the longest suffix that
// could still grow into a stop string.
func (d *detok) release(text string) (string, bool) {
	buf := d.held + text
	first := -1
	for _, s := range d.stops {
		if i := strings.Index(buf, s); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	if first >= 0 {
		d.held = ""
		return buf[:first], true
	}
	hold := 0
	for _, s := range d.stops {
		for k := min(len(s)-1, len(buf)); k > hold; k-- {
			if strings.HasSuffix(buf, s[:k]) {
				hold = k
				break
			}
		}
	}
	d.held = buf[len(buf)-hold:]
	return buf[:len(buf)-hold], false
}

// splitComplete splits s before a trailing incomplete UTF-8 sequence (at most 3 bytes that
// start a character whose other bytes have not arrived yet).
func splitComplete(s string) (done, rest string) {
	for j := len(s) - 1; j >= 0 && j >= len(s)-3; j-- {
		if utf8.RuneStart(s[j]) {
			if !utf8.FullRuneInString(s[j:]) {
				return s[:j], s[j:]
			}
			break
		}
	}
	return s, ""
}
