package week1

import (
	"slices"
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons/data"
)

func TestNSPExamples(t *testing.T) {
	pairs, err := NSPExamples(CharZH(), 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	train, _ := data.CorpusLines()
	for i, p := range pairs {
		if p.IsNext != (i%2 == 0) {
			t.Errorf("pair %d label %s", i, p.Label())
		}
		together := false
		for _, l := range train {
			if a := strings.Index(l, p.A); a >= 0 && strings.HasPrefix(strings.TrimLeft(l[a+len(p.A):], " "), p.B) {
				together = true
				break
			}
		}
		if together != p.IsNext {
			t.Errorf("pair %d (%s): A=%q B=%q directly follow each other in the corpus: %v", i, p.Label(), p.A, p.B, together)
		}
		na := len([]rune(p.A))
		if p.Tokens[0] != "[CLS]" || p.Tokens[na+1] != "[SEP]" || p.Tokens[len(p.Tokens)-1] != "[SEP]" {
			t.Errorf("tokens %v", p.Tokens)
		}
		if zeros := len(p.TypeIDs) - slices.Index(p.TypeIDs, 1); slices.Index(p.TypeIDs, 1) != na+2 || zeros != len([]rune(p.B))+1 {
			t.Errorf("type ids %v", p.TypeIDs)
		}
	}
}

func TestProbeScoreAndWindows(t *testing.T) {
	r := &ProbeResult{Rows: []ProbeRow{
		{Hit1: true, Hit5: true, Window: "去银行取"},
		{Hit5: true, Window: "x"},
		{Hit1: true, Hit5: true},
		{},
	}}
	r.Score()
	if r.N != 4 || r.Top1 != 0.5 || r.Top5 != 0.75 || r.Seen != (ProbeGroup{2, 0.5, 1}) || r.New != (ProbeGroup{2, 0.5, 0.5}) {
		t.Errorf("score %+v", r)
	}
	if !strings.Contains(r.Verdict(), "不只是背下") {
		t.Errorf("verdict %q", r.Verdict())
	}
	if h, rows := r.GroupTable(); len(rows) != 3 || len(rows[0]) != len(h) || rows[1][1] != "2" {
		t.Errorf("group table %v", rows)
	}
	// A window is the answer with two characters each side, found (or not) in the corpus.
	ws, seen := ProbeWindow(data.Probe{Text: "我今天去[MASK]行取钱", Answers: []string{"银"}})
	if len(ws) != 1 || ws[0] != "天去银行取" || seen != "天去银行取" {
		t.Errorf("window %v seen %q", ws, seen)
	}
	if _, seen := ProbeWindow(data.Probe{Text: "他每天坐地[MASK]去公司", Answers: []string{"铁"}}); seen != "" {
		t.Errorf("window of 坐地铁去 should be new, found %q", seen)
	}
}

func TestNSPTables(t *testing.T) {
	p := NSPPair{Tokens: []string{"[CLS]", "甲", "[SEP]", "乙", "丙", "[SEP]"}, TypeIDs: []int{0, 0, 0, 1, 1, 1}}
	ts := p.Tables(4)
	if len(ts) != 2 || len(ts[0].Headers) != 5 || len(ts[1].Headers) != 3 || ts[1].Headers[1] != "4" {
		t.Fatalf("tables %+v", ts)
	}
	var toks, segs []string
	for _, tb := range ts {
		toks = append(toks, tb.Rows[0][1:]...)
		segs = append(segs, tb.Rows[1][1:]...)
	}
	if strings.Join(toks, " ") != "[CLS] 甲 [SEP] 乙 丙 [SEP]" || strings.Join(segs, "") != "000111" {
		t.Errorf("tokens %v segments %v", toks, segs)
	}
	if h, rows := NSPTable([]NSPPair{p}); len(rows) != 1 || len(rows[0]) != len(h) {
		t.Error("NSP table")
	}
}

// FindInCorpus finds every line holding a text, with its number, as a line-by-line scan
// would.
func TestFindInCorpus(t *testing.T) {
	train, val := data.CorpusLines()
	for _, s := range []string{"银行钓鱼", "苹果", "磁盘使用率", "这句话不会在语料里出现吧"} {
		var want []CorpusHit
		for _, sp := range []struct {
			name  string
			lines []string
		}{{"train", train}, {"val", val}} {
			for i, l := range sp.lines {
				if strings.Contains(l, s) {
					want = append(want, CorpusHit{sp.name, i + 1, l})
				}
			}
		}
		got := FindInCorpus(s, 0)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d hits, want %d (first %v vs %v)", s, len(got), len(want), got[:min(1, len(got))], want[:min(1, len(want))])
		}
		if one := FindInCorpus(s, 1); len(want) > 0 && (len(one) != 1 || one[0] != want[0]) {
			t.Errorf("%s: max 1 gave %v", s, one)
		}
	}
}
