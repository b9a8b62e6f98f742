package serve

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/divellm/divellm/llm/quant/qmodel"
	"github.com/divellm/divellm/llm/sample"
	"github.com/divellm/divellm/llm/tokenizer"
)

const tinyZH = "../../models/gpt-tiny-zh"

var (
	loadMu sync.Mutex
	models = map[qmodel.Format]*qmodel.GPT{}
	tok0   tokenizer.Tokenizer
)

// tiny loads the shipped gpt-tiny-zh decoder in format f (once per test binary; the
// decoder is read-only, so engines share it).
func tiny(t testing.TB, f qmodel.Format) (*qmodel.GPT, tokenizer.Tokenizer) {
	t.Helper()
	loadMu.Lock()
	defer loadMu.Unlock()
	if g, ok := models[f]; ok {
		return g, tok0
	}
	g, tok, err := LoadGenerator(tinyZH, f)
	if err != nil {
		t.Fatal(err)
	}
	models[f], tok0 = g, tok
	return g, tok
}

func newTestEngine(t *testing.T, f qmodel.Format, c EngineConfig) *Engine {
	t.Helper()
	g, tok := tiny(t, f)
	e, err := NewEngine(g, tok, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

func ids(tok tokenizer.Tokenizer, s string) []int { return tokenizer.IDs(tok.Encode(s)) }

// collect reads a stream to its end and returns the text and the last event.
func collect(s *Stream) (string, Event) {
	var text string
	for ev := range s.C {
		text += ev.Text
		if ev.Done {
			return text, ev
		}
	}
	return text, Event{}
}

var prompts = []string{
	"2026-03-14 02:13:07 [CRITICAL]",
	"处理步骤：1.",
	"告警",
	"2026-03-16 08:45:00 [INFO] cache-prod-55 内存使用率",
	"db",
	"系统：你是运维助手。\n用户：磁盘满了怎么办？\n助手：",
}

// waitFor polls cond until it holds (the test's own timeout bounds it).
func waitFor(cond func() bool) {
	for !cond() {
		time.Sleep(time.Millisecond)
		runtime.Gosched()
	}
}

// TestBatchedEqualsUnbatched: the same greedy requests give the same text when decoded one
// at a time (MaxBatch 1) and all together (MaxBatch 8, sequences joining and leaving at
// different steps since their prompts and lengths differ).
func TestBatchedEqualsUnbatched(t *testing.T) {
	for _, f := range []qmodel.Format{qmodel.F32, qmodel.Int8} {
		var texts [2][]string
		for k, mb := range []int{1, 8} {
			e := newTestEngine(t, f, EngineConfig{MaxBatch: mb, NoPrefixCache: true})
			_, tok := tiny(t, f)
			var streams []*Stream
			for i, p := range prompts {
				st, err := e.Submit(context.Background(), GenRequest{Prompt: ids(tok, p), MaxTokens: 10 + 7*i, IgnoreEOS: true})
				if err != nil {
					t.Fatal(err)
				}
				streams = append(streams, st[0])
			}
			for i, st := range streams {
				text, last := collect(st)
				if last.Err != nil || last.FinishReason != "length" || last.CompletionTokens != 10+7*i {
					t.Fatalf("%s batch %d, prompt %d: %+v", f, mb, i, last)
				}
				texts[k] = append(texts[k], text)
			}
			if mb == 8 && e.Stats().Steps >= uint64(len(prompts)*(10+7*len(prompts))) {
				t.Errorf("%s: %d steps for %d sequences: they were not batched", f, e.Stats().Steps, len(prompts))
			}
		}
		for i := range prompts {
			if texts[0][i] != texts[1][i] {
				t.Errorf("%s prompt %q: batched %q, alone %q", f, prompts[i], texts[1][i], texts[0][i])
			}
		}
	}
}

// TestSeedReproducible: a seeded sampled request gives the same text again, in a batch
// with other sequences or not; another seed gives another text.
func TestSeedReproducible(t *testing.T) {
	e := newTestEngine(t, qmodel.F32, EngineConfig{})
	_, tok := tiny(t, qmodel.F32)
	req := func(seed uint64) GenRequest {
		return GenRequest{Prompt: ids(tok, prompts[0]), MaxTokens: 40, Seed: seed, IgnoreEOS: true,
			Sampling: sample.Options{Temperature: 1, TopP: 0.95}}
	}
	st, _ := e.Submit(context.Background(), req(7))
	a, _ := collect(st[0])
	st, _ = e.Submit(context.Background(), req(7), req(8), GenRequest{Prompt: ids(tok, prompts[1]), MaxTokens: 5})
	b, _ := collect(st[0])
	c, _ := collect(st[1])
	collect(st[2])
	if a != b {
		t.Fatalf("seed 7 gave %q then %q", a, b)
	}
	if a == c {
		t.Fatalf("seeds 7 and 8 gave the same %q", a)
	}
}

// TestStopStrings: generation ends before the first stop string, which never appears in
// the text, with finish_reason "stop"; the text is the greedy text cut there.
func TestStopStrings(t *testing.T) {
	e := newTestEngine(t, qmodel.F32, EngineConfig{})
	_, tok := tiny(t, qmodel.F32)
	p := ids(tok, prompts[0])
	st, _ := e.Submit(context.Background(), GenRequest{Prompt: p, MaxTokens: 60, IgnoreEOS: true})
	full, _ := collect(st[0])
	r := []rune(full)
	if len(r) < 12 {
		t.Fatalf("greedy text %q too short for the test", full)
	}
	stop := string(r[8:10]) // two characters from the middle
	want := full[:len(string(r[:8]))]
	for i := 0; i < 8; i++ { // an earlier occurrence of the stop string cuts earlier
		if s := string(r[i : i+2]); s == stop {
			want = string(r[:i])
			break
		}
	}
	st, _ = e.Submit(context.Background(), GenRequest{Prompt: p, MaxTokens: 60, IgnoreEOS: true, Stop: []string{"never-there", stop}})
	var pieces []string
	var last Event
	for ev := range st[0].C {
		pieces = append(pieces, ev.Text)
		last = ev
	}
	got := ""
	for _, s := range pieces {
		got += s
	}
	if got != want || last.FinishReason != "stop" {
		t.Fatalf("stop %q: got %q (%s), want %q; full greedy text %q", stop, got, last.FinishReason, want, full)
	}
}

// TestCancelFreesSlot: a running sequence whose context is cancelled leaves its slot
// before the engine's next step, and its stream ends with the context's error.
func TestCancelFreesSlot(t *testing.T) {
	g, tok := tiny(t, qmodel.F32)
	ticks := make(chan struct{}, 100)
	e, err := newEngine(g, tok, EngineConfig{MaxBatch: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.beforeStep = func() { <-ticks }
	defer func() {
		close(ticks)
		_ = e.Close(context.Background())
	}()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := e.Submit(ctx, GenRequest{Prompt: ids(tok, prompts[0]), MaxTokens: 90, IgnoreEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	ticks <- struct{}{} // admit + prefill + first token
	ticks <- struct{}{} // second token
	waitFor(func() bool { return e.Stats().Tokens >= 2 })
	if s := e.Stats(); s.Running != 1 {
		t.Fatalf("running %d, want 1", s.Running)
	}
	cancel()
	waitFor(func() bool { return e.Stats().Cancelled == 1 })
	ticks <- struct{}{} // the next step retires it
	text, last := collect(st[0])
	if !errors.Is(last.Err, context.Canceled) || last.CompletionTokens >= 90 {
		t.Fatalf("last event %+v after %q", last, text)
	}
	if s := e.Stats(); s.Running != 0 {
		t.Fatalf("slots in use after cancel: %d", s.Running)
	}
}

// TestQueueFull: with every slot taken and the queue full, Submit says ErrQueueFull;
// the accepted sequences still finish.
func TestQueueFull(t *testing.T) {
	g, tok := tiny(t, qmodel.F32)
	gate := make(chan struct{})
	e, err := newEngine(g, tok, EngineConfig{MaxBatch: 1, QueueSize: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.beforeStep = func() { <-gate }
	defer e.Close(context.Background())
	req := GenRequest{Prompt: ids(tok, prompts[1]), MaxTokens: 3}
	var accepted []*Stream
	for i := range 3 { // 1 slot + 2 waiting
		st, err := e.Submit(context.Background(), req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		accepted = append(accepted, st[0])
	}
	if _, err := e.Submit(context.Background(), req); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("4th request: %v, want ErrQueueFull", err)
	}
	if _, err := e.Submit(context.Background(), req, req); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a pair: %v, want ErrQueueFull", err)
	}
	close(gate)
	for i, st := range accepted {
		if _, last := collect(st); last.Err != nil || last.CompletionTokens == 0 {
			t.Fatalf("accepted request %d: %+v", i, last)
		}
	}
}

// TestPrefixReuse: a prompt sharing its beginning with a finished one reuses that many
// cached tokens and gives exactly the text it gives without the cache (int8: per-row
// quantization makes the batched maths exact).
func TestPrefixReuse(t *testing.T) {
	_, tok := tiny(t, qmodel.Int8)
	system := "系统：你是运维助手，回答要简短。\n用户："
	first, second := ids(tok, system+"磁盘满了？\n助手："), ids(tok, system+"内存不足？\n助手：")
	common := 0
	for common < len(first) && first[common] == second[common] {
		common++
	}
	var texts []string
	for _, noCache := range []bool{false, true} {
		e := newTestEngine(t, qmodel.Int8, EngineConfig{MaxBatch: 2, NoPrefixCache: noCache})
		st, _ := e.Submit(context.Background(), GenRequest{Prompt: first, MaxTokens: 8})
		collect(st[0])
		st, _ = e.Submit(context.Background(), GenRequest{Prompt: second, MaxTokens: 20, IgnoreEOS: true})
		text, last := collect(st[0])
		want := common
		if noCache {
			want = 0
		}
		if last.CachedTokens != want {
			t.Fatalf("no cache %v: %d cached tokens, want %d", noCache, last.CachedTokens, want)
		}
		texts = append(texts, text)
	}
	if texts[0] != texts[1] {
		t.Fatalf("with prefix reuse %q, without %q", texts[0], texts[1])
	}
}

// TestEngineRejects: requests the model cannot run are refused before queueing.
func TestEngineRejects(t *testing.T) {
	e := newTestEngine(t, qmodel.F32, EngineConfig{MaxContext: 32})
	for name, r := range map[string]GenRequest{
		"empty prompt":    {MaxTokens: 1},
		"no tokens":       {Prompt: []int{7}},
		"too long":        {Prompt: make([]int, 30), MaxTokens: 3},
		"bad id":          {Prompt: []int{-1}, MaxTokens: 1},
		"bad temperature": {Prompt: []int{7}, MaxTokens: 1, Sampling: sample.Options{Temperature: -1}},
		"bad bias":        {Prompt: []int{7}, MaxTokens: 1, LogitBias: map[int]float64{1 << 20: 1}},
	} {
		if _, err := e.Submit(context.Background(), r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewEngine(nil, nil, EngineConfig{}); err == nil {
		t.Error("NewEngine without a model")
	}
	g, tok := tiny(t, qmodel.F32)
	if _, err := NewEngine(g, tok, EngineConfig{MaxContext: g.Config.MaxPos + 1}); err == nil {
		t.Error("a context longer than the model's positions")
	}
}

// TestLoadDummyGenerator: random weights in the shape the overrides give, the checkpoint's
// tokenizer, the same weights on every load (seed 1), and refusals of shapes that cannot
// serve that tokenizer.
func TestLoadDummyGenerator(t *testing.T) {
	ov := map[string]any{"n_layer": 3, "n_embd": 96, "n_head": 3, "n_inner": 160}
	g1, tok, err := LoadDummyGenerator(tinyZH, qmodel.F32, ov)
	if err != nil {
		t.Fatal(err)
	}
	c := g1.Config
	if c.Layers != 3 || c.DModel != 96 || c.Heads != 3 || c.DFF != 160 || c.VocabSize < tok.VocabSize() {
		t.Fatalf("config %+v", c)
	}
	real, _, err := LoadGenerator(tinyZH, qmodel.F32)
	if err != nil {
		t.Fatal(err)
	}
	g2, _, err := LoadDummyGenerator(tinyZH, qmodel.F32, ov)
	if err != nil {
		t.Fatal(err)
	}
	prompt := tokenizer.IDs(tok.Encode("磁盘已满"))
	logits := func(g *qmodel.GPT) []float32 {
		s, err := g.NewSession(16)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Forward(prompt)
		if err != nil {
			t.Fatal(err)
		}
		return out[len(out)-c.VocabSize:]
	}
	a, b := logits(g1), logits(g2)
	if !slices.Equal(a, b) {
		t.Error("two dummy loads of the same shape give different logits (want seed 1 both times)")
	}
	// Same shape as the checkpoint, random weights: the logits differ from the trained ones.
	same, _, err := LoadDummyGenerator(tinyZH, qmodel.F32, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(same.Config, real.Config) {
		t.Fatalf("no overrides: config %+v, want the checkpoint's %+v", same.Config, real.Config)
	}
	if slices.Equal(logits(same), logits(real)) {
		t.Error("dummy weights give the trained model's logits")
	}
	for _, bad := range []map[string]any{{"vocab_size": 100}, {"n_layer": 0}, {"n_embd": 130}, {"no_such_key": 1}} {
		if _, _, err := LoadDummyGenerator(tinyZH, qmodel.F32, bad); err == nil {
			t.Errorf("overrides %v accepted", bad)
		}
	}
}
