package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// GPT-2's bytes_to_unicode: every byte gets a printable character, so that a byte-level
// token can be written in vocab.json and merges.txt. Printable bytes ('!'..'~', '¡'..'¬',
// '®'..'ÿ') stand for themselves; the others are shifted to U+0100 and up, in byte order.
// So a space (0x20) is written 'Ġ' (U+0120) and a newline (0x0A) 'Ċ' (U+010A).
var (
	byteToRune [256]rune
	runeToByte = map[rune]byte{}
)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		if ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// ByteLevel returns the GPT-2 vocabulary form of raw bytes ("Ġhello" for " hello").
func ByteLevel(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		b.WriteRune(byteToRune[raw[i]])
	}
	return b.String()
}

// FromByteLevel turns a GPT-2 vocabulary string back into raw bytes; ok is false when a
// character is not one of the 256 byte characters.
func FromByteLevel(tok string) (raw string, ok bool) {
	buf := make([]byte, 0, len(tok))
	for _, r := range tok {
		b, ok := runeToByte[r]
		if !ok {
			return "", false
		}
		buf = append(buf, b)
	}
	return string(buf), true
}

// Pre-tokenizers. Byte-level BPE never merges across pre-token boundaries, so the
// pre-tokenizer decides what can become one token.
const (
	// PreGPT2 is GPT-2's regex
	//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
	// A run of letters with its leading space is one piece (" hello"), so are numbers and
	// punctuation; a Chinese sentence without spaces is one long piece.
	PreGPT2 = "gpt2"
	// PreGPT2CJK is GPT-2's regex with the letter class split in two: runs of CJK
	// characters (Han, Hiragana, Katakana, Hangul) are pieces apart from runs of other
	// letters, so "Go语言" gives "Go", "语言" instead of one piece:
	//   's|'t|'re|'ve|'m|'ll|'d| ?[\p{L}--CJK]+| ?[CJK]+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
	// Chinese punctuation ("，。") is not a letter, so a sentence still splits into clauses,
	// and words made of several characters ("今天") can be learned inside a clause.
	PreGPT2CJK = "gpt2-cjk"
)

func isCJKRune(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r) || r == 'ー'
}

// preTokenize splits s into pieces (byte spans) that cover s exactly, following the
// GPT-2 regex (or its CJK variant). \s is Unicode White_Space, \p{L} letters, \p{N}
// numbers; an invalid UTF-8 byte counts as "other" (neither space, letter nor number).
func preTokenize(s string, cjk bool) [][2]int {
	var out [][2]int
	for i := 0; i < len(s); {
		j := matchPiece(s, i, cjk)
		out = append(out, [2]int{i, j})
		i = j
	}
	return out
}

const (
	clsSpace = iota
	clsLetter
	clsCJK
	clsNumber
	clsOther
)

func runeClass(r rune, w int, cjk bool) int {
	switch {
	case r == utf8.RuneError && w == 1:
		return clsOther
	case unicode.IsSpace(r):
		return clsSpace
	case unicode.IsLetter(r):
		if cjk && isCJKRune(r) {
			return clsCJK
		}
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	}
	return clsOther
}

// runEnd returns the end of the run of characters of class c starting at i.
func runEnd(s string, i, c int, cjk bool) int {
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if runeClass(r, w, cjk) != c {
			break
		}
		i += w
	}
	return i
}

var contractions = []string{"s", "t", "re", "ve", "m", "ll", "d"}

// matchPiece returns the end of the regex match starting at i (alternatives tried in order).
func matchPiece(s string, i int, cjk bool) int {
	if s[i] == '\'' {
		for _, c := range contractions {
			if strings.HasPrefix(s[i+1:], c) {
				return i + 1 + len(c)
			}
		}
	}
	// ` ?X+` for X = letters, CJK, numbers, other.
	k := i
	if s[i] == ' ' {
		k++
	}
	if k < len(s) {
		r, w := utf8.DecodeRuneInString(s[k:])
		if c := runeClass(r, w, cjk); c != clsSpace {
			return runEnd(s, k, c, cjk)
		}
	}
	// \s+(?!\S) then \s+.
	end := runEnd(s, i, clsSpace, cjk)
	if end == len(s) {
		return end
	}
	_, w := utf8.DecodeLastRuneInString(s[i:end])
	if last := end - w; last > i {
		return last
	}
	return end
}
