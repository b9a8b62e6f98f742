package week1

import (
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons/exercise"
)

// BPEMergeStep against hand-worked examples.
func TestBPEMergeStep(t *testing.T) {
	for _, c := range []struct {
		text, pair, after string
	}{
		// l-o, o-w ×7 each; l-o seen first. (Sennrich et al. count e-s/s-t ×9 with their
		// end-of-word marker; without it, e-s ties at 9 with s-t and is seen first.)
		{"low low low low low lower lower newest newest newest newest newest newest widest widest widest", "e+s", "l o w|l o w|l o w|l o w|l o w|l o w e r|l o w e r|n e w es t|n e w es t|n e w es t|n e w es t|n e w es t|n e w es t|w i d es t|w i d es t|w i d es t"},
		{"aaa aaa b", "a+a", "aa a|aa a|b"},
		{"ab cd ab cd", "a+b", "ab|c d|ab|c d"},
		{"超市 超市 超市买 银行 银行卡 银行 超市", "超+市", "超市|超市|超市 买|银 行|银 行 卡|银 行|超市"},
	} {
		pair, merged, ok := BPEMergeStep(SplitWords(c.text))
		var ws []string
		for _, w := range merged {
			ws = append(ws, strings.Join(w, " "))
		}
		if !ok || pair[0]+"+"+pair[1] != c.pair || strings.Join(ws, "|") != c.after {
			t.Errorf("%q: pair %v, after %q; want %s, %q", c.text, pair, strings.Join(ws, "|"), c.pair, c.after)
		}
	}
	if _, _, ok := BPEMergeStep(SplitWords("a b c")); ok {
		t.Error("no pairs should report !ok")
	}
}

func TestCheckBPEMerge(t *testing.T) {
	ref := func(c [][]string) ([2]string, [][]string) { p, m, _ := BPEMergeStep(c); return p, m }
	if r := CheckBPEMerge(ref); !r.Passed() {
		t.Fatalf("reference rejected:\n%s", r)
	}
	if r := CheckBPEMerge(func([][]string) ([2]string, [][]string) { return [2]string{}, nil }); r.Status != exercise.NotDone {
		t.Errorf("stub: %v", r.Status)
	}
	for kind, hint := range map[string]string{"across-words": "词内部", "overlap": "不要重叠"} {
		r := CheckBPEMerge(func(c [][]string) ([2]string, [][]string) { return bpeVariant(c, kind) })
		if r.Passed() || !strings.Contains(r.Hint, hint) {
			t.Errorf("%s: passed %v hint %q\n%s", kind, r.Passed(), r.Hint, r)
		}
	}
	inPlace := func(c [][]string) ([2]string, [][]string) {
		p, m, _ := BPEMergeStep(c)
		copy(c, m)
		return p, m
	}
	if r := CheckBPEMerge(inPlace); r.Passed() {
		t.Error("a step that overwrites its input passed")
	}
}
