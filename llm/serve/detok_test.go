package serve

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/divellm/divellm/llm/tokenizer"
)

// runDetok pushes ids one at a time and returns the pieces emitted (flush included) and
// whether a stop string ended the text.
func runDetok(tok tokenizer.Tokenizer, prompt, gen []int, stops []string) ([]string, bool) {
	d := newDetok(tok, prompt, stops)
	var pieces []string
	for _, id := range gen {
		text, stopped := d.push(id)
		pieces = append(pieces, text)
		if stopped {
			return pieces, true
		}
	}
	return append(pieces, d.flush()), false
}

// TestDetokNeverSplitsCharacters: with byte-level BPE whose tokens are single bytes of
// Chinese characters, every piece is valid UTF-8 and the pieces add up to the decoded text.
func TestDetokNeverSplitsCharacters(t *testing.T) {
	tok, err := tokenizer.TrainBPE("磁盘使用率过高，请清理日志。磁盘满了。", 256+5, tokenizer.BPEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	text := "磁盘写满，服务器告警！" // mostly characters never merged: one token per byte
	gen := tokenizer.IDs(tok.Encode(text))
	if len(gen) <= utf8.RuneCountInString(text) {
		t.Fatalf("the test needs tokens that split characters: %d tokens for %d characters", len(gen), utf8.RuneCountInString(text))
	}
	pieces, _ := runDetok(tok, tokenizer.IDs(tok.Encode("日志")), gen, nil)
	split := 0
	for _, p := range pieces {
		if !utf8.ValidString(p) {
			t.Fatalf("piece %q is not valid UTF-8", p)
		}
		if p == "" {
			split++ // a token ending inside a character emits nothing yet
		}
	}
	if got := strings.Join(pieces, ""); got != text || split == 0 {
		t.Fatalf("pieces %q join to %q (%d held), want %q", pieces, got, split, text)
	}
}

// TestDetokStopStrings: a stop string is never emitted, even when it arrives split
// across tokens, and text that only looked like its beginning is released later.
func TestDetokStopStrings(t *testing.T) {
	_, tok := tiny(t, "fp32")
	enc := func(s string) []int { return tokenizer.IDs(tok.Encode(s)) }
	cases := []struct {
		gen, stop, want string
		stopped         bool
	}{
		{"磁盘满了。请清理", "。", "磁盘满了", true},
		{"磁盘满了。请清理", "清理", "磁盘满了。请", true},
		{"磁盘满了，满了。", "满了。", "磁盘满了，", true}, // "满了" first looks like the stop, then is released
		{"磁盘满了", "满了吗", "磁盘满了", false},     // a held prefix is released at the end
		{"ab\n用户：x", "\n用户：", "ab", true},
	}
	for _, c := range cases {
		pieces, stopped := runDetok(tok, enc("告警"), enc(c.gen), []string{"不会出现", c.stop})
		got := strings.Join(pieces, "")
		if got != c.want || stopped != c.stopped {
			t.Errorf("%q stop %q: pieces %q (stopped %v), want %q (%v)", c.gen, c.stop, pieces, stopped, c.want, c.stopped)
		}
		for i := range pieces {
			if strings.Contains(strings.Join(pieces[:i+1], ""), c.stop) {
				t.Errorf("%q: the stop string %q reached the client in %q", c.gen, c.stop, pieces)
			}
		}
	}
}

// TestChatTemplate: the documented rendering, and roles it refuses.
func TestChatTemplate(t *testing.T) {
	got, err := DefaultChatTemplate.Render([]ChatMessage{{"system", "你是运维助手。"}, {"user", "磁盘满了怎么办？"}, {"assistant", "清理日志。"}, {"developer", "简短"}})
	want := "系统：你是运维助手。\n用户：磁盘满了怎么办？\n助手：清理日志。\n系统：简短\n助手："
	if err != nil || got != want {
		t.Fatalf("Render = %q, %v; want %q", got, err, want)
	}
	for _, role := range []string{"tool", "function", "wizard", ""} {
		if _, err := DefaultChatTemplate.Render([]ChatMessage{{role, "x"}}); err == nil {
			t.Errorf("role %q accepted", role)
		}
	}
	if _, err := DefaultChatTemplate.Render(nil); err == nil {
		t.Error("no messages accepted")
	}
}
