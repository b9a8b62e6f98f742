package pipeline

import (
	"math"
	"reflect"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/divellm/divellm/llm/tokenizer"
)

// A hand-worked window: [CLS] q [SEP] c1 c2 c3 [SEP].
func TestBestSpansByHand(t *testing.T) {
	start := []float32{0, 5, 0, 1, 2, 0, 9}
	end := []float32{0, 7, 0, 0, 0, 3, 9}
	desired := []bool{true, false, false, true, true, true, false}
	e := math.E
	S := 2 + e + e*e // Σ exp over [CLS], c1, c2, c3 (question and [SEP] masked to −10000)
	T := 3 + e*e*e
	got := BestSpans(start, end, desired, 1, 15)
	want := e * e / S * e * e * e / T // p_start(c2) · p_end(c3)
	if len(got) != 1 || got[0].Start != 4 || got[0].End != 5 || math.Abs(got[0].Score-want) > 1e-6 {
		t.Fatalf("best span %+v, want (4, 5) with score %g", got, want)
	}
	// One-token answers only: (c3, c3) beats (c2, c2) since e³/(S·T) > e²/(S·T).
	got = BestSpans(start, end, desired, 1, 1)
	if got[0].Start != 5 || got[0].End != 5 || math.Abs(got[0].Score-e*e*e/(S*T)) > 1e-6 {
		t.Fatalf("max answer length 1: %+v", got)
	}
	// Top 3, best first, never a span with end < start or outside the context.
	got = BestSpans(start, end, desired, 3, 15)
	for i, sp := range got {
		if sp.End < sp.Start || !desired[sp.Start] || !desired[sp.End] || sp.Start == 0 {
			t.Errorf("span %d %+v is not a context span", i, sp)
		}
		if i > 0 && sp.Score > got[i-1].Score {
			t.Errorf("spans not sorted: %+v", got)
		}
	}
}

func TestWordIDsJoinWordPieces(t *testing.T) {
	tok, err := tokenizer.Load(hfDir + "/tiny-bert")
	if err != nil {
		t.Fatal(err)
	}
	toks := tok.Encode("bert tokenizer 我们")
	want := []int{0, 1, 1, 2, 3} // bert | token ##izer | 我 | 们
	got := wordIDs(tok, toks)
	if len(got) != len(want) {
		t.Fatalf("tokens %v", toks)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("word ids %v, want %v (tokens %v)", got, want, toks)
		}
	}
}

func TestAlignToWords(t *testing.T) {
	tok, err := tokenizer.Load(hfDir + "/tiny-bert")
	if err != nil {
		t.Fatal(err)
	}
	ctx := "我爱bert tokenizer吗"
	toks := tok.Encode(ctx) // 我 爱 bert token ##izer [UNK]
	words := wordIDs(tok, toks)
	for _, c := range []struct {
		lo, hi, ts, te int
		want           string
	}{
		{0, len(toks), 4, 4, "tokenizer"},       // a span starting at ##izer starts at "token"
		{0, len(toks), 1, 3, "爱bert tokenizer"}, // ending at "token" ends after ##izer
		{0, 4, 1, 3, "爱bert token"},             // ##izer outside the window: word cut there
		{0, len(toks), 5, 5, "吗"},
	} {
		s, e := alignToWords(toks, words, c.lo, c.hi, c.ts, c.te)
		if ctx[s:e] != c.want {
			t.Errorf("tokens %d..%d in window [%d,%d): %q, want %q (tokens %v)", c.ts, c.te, c.lo, c.hi, ctx[s:e], c.want, toks)
		}
	}
}

// longContext repeats a Chinese paragraph to n characters.
func longContext(n int) string {
	const para = "磁盘已满会导致服务写入失败，日志显示磁盘空间不足。运维人员清理了旧日志，服务恢复正常。内存不足时进程会被系统杀掉。"
	r := []rune(strings.Repeat(para, n/len([]rune(para))+1))
	return string(r[:n])
}

// TestQATopKAcrossWindows: keeping only the best spans while the windows stream by gives
// exactly the answers of scoring every window first and sorting all their spans
// (transformers' order: score, then window, then span), for a context of many windows.
func TestQATopKAcrossWindows(t *testing.T) {
	m := loadModel(t, "tiny-bert-qa-zh")
	q, ctx := "磁盘已满会导致什么？", longContext(700)
	o, err := qaDefaults(QAOptions{TopK: 7, MaxAnswerLen: 6}, m.Config.MaxPos)
	if err != nil {
		t.Fatal(err)
	}
	got, err := QuestionAnsweringTopK(m, q, ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	// Reference: every window's output kept, one stable sort at the end.
	cToks := m.Tokenizer.Encode(ctx)
	wins, err := QAWindows(m.Tokenizer, m.Tokenizer.Encode(q), cToks, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(wins) < 20 {
		t.Fatalf("only %d windows: the context is too short for this test", len(wins))
	}
	words := wordIDs(m.Tokenizer, cToks)
	var all []Answer
	for w, win := range wins {
		out, err := forwardOne(m, win.IDs, win.TypeIDs, false)
		if err != nil {
			t.Fatal(err)
		}
		n := len(win.IDs)
		desired := make([]bool, n)
		desired[0] = true
		for i := win.Offset; i < win.Offset+win.ContextEnd-win.ContextStart; i++ {
			desired[i] = true
		}
		for _, sp := range BestSpans(out.QAStart.Row(0)[:n], out.QAEnd.Row(0)[:n], desired, o.TopK, o.MaxAnswerLen) {
			s, e := alignToWords(cToks, words, win.ContextStart, win.ContextEnd, win.ContextStart+sp.Start-win.Offset, win.ContextStart+sp.End-win.Offset)
			cs := len([]rune(ctx[:s]))
			all = append(all, Answer{Score: sp.Score, Answer: ctx[s:e], Start: cs, End: cs + len([]rune(ctx[s:e])), Window: w, StartToken: sp.Start, EndToken: sp.End})
		}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].Score > all[b].Score })
	want := all[:o.TopK]
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("streamed top %d:\n%+v\nscoring all %d windows first:\n%+v", o.TopK, got, len(wins), want)
	}
	for _, a := range got {
		if string([]rune(ctx)[a.Start:a.End]) != a.Answer {
			t.Errorf("answer %q is not context[%d:%d] in characters", a.Answer, a.Start, a.End)
		}
	}
}

// peakHeap runs f while sampling the bytes of live heap objects, with the collector
// kept eager, and returns the largest sample above the level before f.
func peakHeap(f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			default:
				runtime.Gosched()
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// TestQAMemoryFlatInContextLength: question answering over a context 16 times longer
// must not need much more memory: per window only the best spans survive (it kept every
// window's model output, 1.1 GB for 60k characters). The allowance covers what is
// linear in the input itself: the context's tokens (≈ 50 bytes per character here).
func TestQAMemoryFlatInContextLength(t *testing.T) {
	if testing.Short() {
		t.Skip("long context")
	}
	m := loadModel(t, "tiny-bert-qa-zh")
	q := "磁盘已满会导致什么？"
	run := func(n int) uint64 {
		return peakHeap(func() {
			if _, err := QuestionAnswering(m, q, longContext(n), QAOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
	run(500) // compile the bucket shapes once
	short, long := run(1000), run(16000)
	allow := uint64(16000*64) + 4<<20
	t.Logf("peak live heap: %.1f MB for 1k characters, %.1f MB for 16k (allowed %.1f MB)", float64(short)/1e6, float64(long)/1e6, float64(short+allow)/1e6)
	if long > short+allow {
		t.Errorf("peak live heap %.1f MB for 16k characters vs %.1f MB for 1k: memory grows with the number of windows", float64(long)/1e6, float64(short)/1e6)
	}
}
