package models

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
)

func TestCharMatchesAndScore(t *testing.T) {
	for _, c := range []struct {
		pred, ref    string
		right, total int
	}{
		{"db-03 磁盘 97% 严重", "db-03 磁盘 97% 严重", 15, 15},
		{"db-03 磁盘 98% 严重", "db-03 磁盘 97% 严重", 14, 15},
		{"db-03 磁盘", "db-03 磁盘 97% 严重", 8, 15}, // missing characters count as wrong
		{"xdb-03", "db-03", 0, 6},              // a shift ruins every position
		{"", "ab", 0, 2},
	} {
		r, n := CharMatches(c.pred, c.ref)
		if r != c.right || n != c.total {
			t.Errorf("CharMatches(%q, %q) = %d/%d, want %d/%d", c.pred, c.ref, r, n, c.right, c.total)
		}
	}
	e, err := ScoreSeq2Seq([]string{"a", "b", "c"}, []string{"12:30", "abc", "xy"}, []string{"12:30", "abd", "x"})
	if err != nil {
		t.Fatal(err)
	}
	// 5/5 + 2/3 + 1/2 characters, 1 of 3 exact.
	if e.N != 3 || e.Exact != 1 || e.CharsRight != 8 || e.CharsTotal != 10 || math.Abs(e.ExactMatch-1.0/3) > 1e-12 || math.Abs(e.CharAccuracy-0.8) > 1e-12 {
		t.Fatalf("score = %+v", e)
	}
	if !e.Predictions[0].Exact || e.Predictions[1].Exact || e.Predictions[2].Prediction != "x" {
		t.Fatalf("predictions = %+v", e.Predictions)
	}
	e, _ = ScoreSeq2Seq(make([]string, 5), []string{"db-03 磁盘", "db-03 磁盘", "ab 1", "ab 1", "ab 1"}, []string{"db-04 磁盘", "db-03 磁", "ab 1", "ab 2", "ab 3"})
	if got := e.FirstErrors(); !reflect.DeepEqual(got, []ClassCount{{"数字", 3}, {"长度", 1}}) {
		t.Fatalf("first errors %v", got)
	}
	if _, err := ScoreSeq2Seq([]string{"a"}, []string{"a"}, nil); err == nil {
		t.Fatal("mismatched lengths accepted")
	}
}

// tinySeq2Seq trains a few steps into a temporary cache.
func tinySeq2Seq(t *testing.T) (Seq2SeqConfig, string) {
	t.Helper()
	dir := t.TempDir()
	old := seq2seqCacheBase
	seq2seqCacheBase = func() (string, error) { return dir, nil }
	t.Cleanup(func() { seq2seqCacheBase = old })
	return Seq2SeqConfig{Task: "alerts", Steps: 6, BatchSize: 4, EvalEvery: 3, TestLimit: 5, Seed: 3}, dir
}

func TestTrainSeq2SeqCachesAndReloads(t *testing.T) {
	cfg, dir := tinySeq2Seq(t)
	steps := 0
	run, err := TrainSeq2Seq(cfg, func(p llm.Progress) { steps++ })
	if err != nil {
		t.Fatal(err)
	}
	if run.Cached || run.Dir == "" || steps != cfg.Steps || len(run.Losses) != cfg.Steps {
		t.Fatalf("cached %v dir %q, %d progress calls and %d losses for %d steps", run.Cached, run.Dir, steps, len(run.Losses), cfg.Steps)
	}
	for _, l := range append(append([]float64(nil), run.Losses...), run.ValLosses...) {
		if math.IsNaN(l) || math.IsInf(l, 0) || l <= 0 {
			t.Fatalf("loss %g", l)
		}
	}
	if !reflect.DeepEqual(run.ValSteps, []int{0, 3, 6}) {
		t.Fatalf("validation at steps %v, want [0 3 6]", run.ValSteps)
	}
	// An untrained model guesses uniformly: the first validation loss is about ln V.
	if v := float64(run.Model.Config.VocabSize); math.Abs(run.ValLosses[0]-math.Log(v)) > 0.5 {
		t.Fatalf("initial val loss %.3f, ln V = %.3f", run.ValLosses[0], math.Log(v))
	}
	if run.Eval.N != cfg.TestLimit || len(run.Eval.Predictions) != cfg.TestLimit {
		t.Fatalf("scored %d pairs, want %d", run.Eval.N, cfg.TestLimit)
	}
	// The stored score is the score of the stored predictions.
	var srcs, refs, preds []string
	for _, p := range run.Eval.Predictions {
		srcs, refs, preds = append(srcs, p.Source), append(refs, p.Target), append(preds, p.Prediction)
	}
	again, err := ScoreSeq2Seq(srcs, refs, preds)
	if err != nil || !reflect.DeepEqual(again, run.Eval) {
		t.Fatalf("rescored %+v, stored %+v (%v)", again, run.Eval, err)
	}
	if filepath.Dir(run.Dir) != dir {
		t.Fatalf("cached in %s, not under %s", run.Dir, dir)
	}

	re, err := TrainSeq2Seq(cfg, func(llm.Progress) { t.Fatal("a cached run trained again") })
	if err != nil {
		t.Fatal(err)
	}
	if !re.Cached || re.Dir != run.Dir {
		t.Fatalf("second call: cached %v in %q", re.Cached, re.Dir)
	}
	if !reflect.DeepEqual(re.Losses, run.Losses) || !reflect.DeepEqual(re.ValLosses, run.ValLosses) || !reflect.DeepEqual(re.Eval, run.Eval) || re.TrainSeconds != run.TrainSeconds {
		t.Fatal("the reloaded run's history or score differs")
	}
	// The reloaded model computes exactly what the trained one did.
	b := llm.Batch{IDs: [][]int{tokenizer.IDs(run.Model.Tokenizer.Encode(srcs[0]))}, DecoderIDs: [][]int{{run.Model.Config.DecoderStartID, 7, 8}}}
	a, err := run.Model.Forward(b, llm.ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := re.Model.Forward(b, llm.ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Logits.Data, c.Logits.Data) {
		t.Fatal("the reloaded model's logits differ")
	}
	p2, err := GreedySeq2Seq(re.Model, srcs, 21)
	if err != nil || !reflect.DeepEqual(p2, preds) {
		t.Fatalf("reloaded model decodes %q, stored %q (%v)", p2, preds, err)
	}

	// The live variant replays the cached run; another setting is another cache entry,
	// trained with the live chart. Outside a notebook the charts go to files in DIVELLM_OUT.
	out := t.TempDir()
	t.Setenv("DIVELLM_OUT", out)
	live, err := TrainSeq2SeqLive(cfg, "loss")
	if err != nil || !live.Cached || !reflect.DeepEqual(live.Losses, run.Losses) || !reflect.DeepEqual(live.Eval, run.Eval) {
		t.Fatalf("live reload: cached %v (%v)", live != nil && live.Cached, err)
	}
	cfg.Seed++
	other, err := TrainSeq2SeqLive(cfg, "loss")
	if err != nil {
		t.Fatal(err)
	}
	if other.Cached || other.Dir == run.Dir || len(other.Losses) != cfg.Steps {
		t.Fatalf("seed %d: cached %v in %s (first run %s)", cfg.Seed, other.Cached, other.Dir, run.Dir)
	}
	if charts, _ := filepath.Glob(filepath.Join(out, "divellm-loss-*.html")); len(charts) != 2 {
		t.Fatalf("%d loss charts written, want 2", len(charts))
	}
	// A cache entry without its run.json is trained again, not half-read.
	if err := os.Remove(filepath.Join(run.Dir, "run.json")); err != nil {
		t.Fatal(err)
	}
	cfg.Seed--
	if _, err := loadSeq2SeqRun(run.Dir); err == nil {
		t.Fatal("an entry without run.json loaded")
	}
}

func TestGreedySeq2SeqMatchesGenerate(t *testing.T) {
	cfg, _ := tinySeq2Seq(t)
	run, err := TrainSeq2Seq(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Sources of different lengths: the batch is padded, each row must decode as alone.
	srcs := []string{run.Eval.Predictions[0].Source, "db-03 磁盘", run.Eval.Predictions[1].Source}
	got, err := GreedySeq2Seq(run.Model, srcs, 8)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range srcs {
		g, err := run.Model.GenerateSeq2Seq(tokenizer.IDs(run.Model.Tokenizer.Encode(s)), llm.GenerateOptions{MaxTokens: 8})
		if err != nil {
			t.Fatal(err)
		}
		if got[i] != g.Text {
			t.Errorf("row %d: batched greedy %q, GenerateSeq2Seq %q", i, got[i], g.Text)
		}
	}
	if _, err := GreedySeq2Seq(run.Model, srcs, 0); err == nil {
		t.Error("max tokens 0 accepted")
	}
	if _, err := TrainSeq2Seq(Seq2SeqConfig{Task: "poems"}, nil); err == nil {
		t.Error("unknown task accepted")
	}
	for _, bad := range []Seq2SeqConfig{{Steps: -1}, {EvalEvery: -2}, {LR: -1}, {TestLimit: -1}} {
		if _, err := TrainSeq2Seq(bad, nil); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestCrossAttention(t *testing.T) {
	cfg, _ := tinySeq2Seq(t)
	run, err := TrainSeq2Seq(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := run.Eval.Predictions[0].Source
	a, err := CrossAttention(run.Model, src, 6)
	if err != nil {
		t.Fatal(err)
	}
	c := run.Model.Config
	pred, _ := GreedySeq2Seq(run.Model, []string{src}, 6)
	nOut := len([]rune(pred[0])) + 1 // + EOS
	if len(a.Source) != len([]rune(src)) || len(a.Output) != nOut || len(a.Layers) != c.DecLayers {
		t.Fatalf("%d source, %d output tokens, %d layers; want %d, %d, %d", len(a.Source), len(a.Output), len(a.Layers), len([]rune(src)), nOut, c.DecLayers)
	}
	for l, heads := range a.Layers {
		if len(heads) != c.Heads {
			t.Fatalf("layer %d: %d heads, want %d", l, len(heads), c.Heads)
		}
		for h, rows := range heads {
			if len(rows) != nOut {
				t.Fatalf("layer %d head %d: %d rows", l, h, len(rows))
			}
			for q, row := range rows {
				s := 0.0
				for _, v := range row {
					if v < 0 || math.IsNaN(v) {
						t.Fatalf("weight %g", v)
					}
					s += v
				}
				if len(row) != len(a.Source) || math.Abs(s-1) > 1e-4 {
					t.Fatalf("layer %d head %d row %d: %d weights summing to %g", l, h, q, len(row), s)
				}
			}
		}
	}
	// The same rows come out of a batch with longer (padded) neighbours.
	maps, err := crossAttentions(run.Model, []string{src, src + " 以及更多的输入字符"}, []string{pred[0], pred[0] + "很长"})
	if err != nil {
		t.Fatal(err)
	}
	for l := range a.Layers {
		for h := range a.Layers[l] {
			for q := range a.Layers[l][h] {
				for j, v := range a.Layers[l][h][q] {
					if d := math.Abs(v - maps[0].Layers[l][h][q][j]); d > 1e-5 {
						t.Fatalf("padding changed weight [%d][%d][%d][%d] by %g", l, h, q, j, d)
					}
				}
			}
		}
	}
	mean, err := a.Mean(c.DecLayers - 1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := a.Focus(c.DecLayers - 1)
	if err != nil {
		t.Fatal(err)
	}
	for q, row := range mean {
		for _, v := range row {
			if v > f[q].Weight {
				t.Fatalf("focus of row %d is %g at %d, but %g exists", q, f[q].Weight, f[q].At, v)
			}
		}
		if f[q].Source != a.Source[f[q].At] || f[q].Same != (a.outIDs[q] == a.srcIDs[f[q].At]) {
			t.Fatalf("focus %+v", f[q])
		}
	}
	if _, err := a.Mean(c.DecLayers); err == nil {
		t.Fatal("layer out of range accepted")
	}
	if err := a.View(0).Err(); err != nil {
		t.Fatal(err)
	}
	// Copy alignment, on the references as outputs (most of their characters are in the
	// source), against a count from Focus.
	for i := range run.Eval.Predictions {
		run.Eval.Predictions[i].Prediction = run.Eval.Predictions[i].Target
	}
	rows, err := run.CopyAlignment(3)
	if err != nil || len(rows) < 2 || rows[len(rows)-1].Class != "全部" {
		t.Fatalf("copy alignment %+v (%v)", rows, err)
	}
	wantN := map[string]int{}
	hits := map[string][]int{}
	for _, p := range run.Eval.Predictions[:3] {
		a, err := crossAttentions(run.Model, []string{p.Source}, []string{p.Target})
		if err != nil {
			t.Fatal(err)
		}
		for q, r := range []rune(p.Target) {
			if !strings.ContainsRune(p.Source, r) {
				continue
			}
			for _, k := range []string{charClass(r), "全部"} {
				wantN[k]++
				if hits[k] == nil {
					hits[k] = make([]int, c.DecLayers)
				}
				for l := range c.DecLayers {
					f, _ := a[0].Focus(l)
					if []rune(p.Source)[f[q].At] == r {
						hits[k][l]++
					}
				}
			}
		}
	}
	if len(rows) != len(wantN) || wantN["全部"] < 20 || wantN["数字"] == 0 {
		t.Fatalf("%d rows for classes %v", len(rows), wantN)
	}
	for _, row := range rows {
		if row.Counted != wantN[row.Class] || len(row.Shares) != c.DecLayers {
			t.Fatalf("%s: counted %d, want %d", row.Class, row.Counted, wantN[row.Class])
		}
		for l, s := range row.Shares {
			if math.Abs(s-float64(hits[row.Class][l])/float64(row.Counted)) > 1e-12 {
				t.Fatalf("%s layer %d: share %g, want %d/%d", row.Class, l, s, hits[row.Class][l], row.Counted)
			}
		}
	}
	// The rows are cached in the run's directory and read back as they were.
	if _, err := os.Stat(filepath.Join(run.Dir, "copy-3.json")); err != nil {
		t.Fatalf("copy alignment not cached: %v", err)
	}
	again, err := run.CopyAlignment(3)
	if err != nil || !reflect.DeepEqual(again, rows) {
		t.Fatalf("cached copy alignment %+v, computed %+v (%v)", again, rows, err)
	}
	if h, tr := CopyTable(rows); len(h) != 2+c.DecLayers || len(tr) != len(rows) {
		t.Fatalf("table %v %v", h, tr)
	}
}

// The notebook says the test split's hosts never occur in training: check it on the data.
func TestSeq2SeqTestHostsUnseen(t *testing.T) {
	d, err := loadSeq2SeqData("alerts")
	if err != nil {
		t.Fatal(err)
	}
	host := func(target string) string { return strings.Fields(target)[0] }
	seen := map[string]bool{}
	for _, p := range append(append([]data.Seq2SeqPair(nil), d.train...), d.val...) {
		seen[host(p.Target)] = true
	}
	for _, p := range d.test {
		h := host(p.Target)
		if seen[h] || !strings.Contains(p.Source, " "+h+" ") {
			t.Fatalf("test host %q (in %q) occurs in training or not in its source", h, p.Source)
		}
	}
	if len(seen) < 50 {
		t.Fatalf("only %d training hosts", len(seen))
	}
}

func TestBARTLayerTable(t *testing.T) {
	c, err := Seq2SeqModel("alerts")
	if err != nil {
		t.Fatal(err)
	}
	if c.Arch != llm.BART || c.DModel != 64 || c.DFF != 256 {
		t.Fatalf("config %+v", c)
	}
	d, err := DescribeSeq2Seq("alerts", 3)
	if err != nil {
		t.Fatal(err)
	}
	if d.Train+d.Val != 2400 || d.Val != seq2seqVal || d.Test != 240 || d.Vocab != c.VocabSize || len(d.Examples.Rows) != 3 || d.SourceLen > 48 || d.TargetLen > 20 {
		t.Fatalf("task %+v", d)
	}
	if dd, err := DescribeSeq2Seq("dates", 2); err != nil || dd.Test == 0 || len(dd.Examples.Rows) != 2 {
		t.Fatalf("dates: %+v (%v)", dd, err)
	}
	if _, err := DescribeSeq2Seq("poems", 2); err == nil {
		t.Fatal("unknown task described")
	}
	tab, err := BARTLayerTable(c)
	if err != nil {
		t.Fatal(err)
	}
	rows := tab.Rows
	want := map[string][2]string{ // d = 64, d_ff = 256: q/k/v/out are 4·(64·64 + 64)
		"self_attn":               {"16640 个参数", "16640 个参数"},
		"encoder_attn":            {"没有", "16640 个参数"},
		"fc1":                     {"16640 个参数", "16640 个参数"}, // 64·256 + 256
		"fc2":                     {"16448 个参数", "16448 个参数"}, // 256·64 + 64
		"final_layer_norm":        {"128 个参数", "128 个参数"},
		"encoder_attn_layer_norm": {"没有", "128 个参数"},
	}
	for _, r := range rows {
		if w, ok := want[r[0]]; ok && (r[2] != w[0] || r[3] != w[1]) {
			t.Errorf("%s: %s / %s, want %s / %s", r[0], r[2], r[3], w[0], w[1])
		}
	}
	if len(rows) != 7 {
		t.Fatalf("%d rows", len(rows))
	}
	if _, err := BARTLayerTable(llm.TinyGPT(10)); err == nil {
		t.Fatal("a GPT accepted")
	}
}

// BenchmarkSeq2SeqNotebookRun times the notebook's cold encoder-decoder cell without the
// chart: training with the notebook's settings, greedy decoding of the test split and the
// save (into a temporary cache, so the checkout's cache is untouched). The notebook's goal
// is under a minute on a quiet 2-core machine.
func BenchmarkSeq2SeqNotebookRun(b *testing.B) {
	cfg := Seq2SeqConfig{Task: "alerts", Steps: 240, BatchSize: 32, LR: 4e-3, Seed: 1} // as in the notebook
	old := seq2seqCacheBase
	defer func() { seq2seqCacheBase = old }()
	for b.Loop() {
		dir := b.TempDir()
		seq2seqCacheBase = func() (string, error) { return dir, nil }
		run, err := TrainSeq2Seq(cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(run.TrainSeconds, "train-s")
		b.ReportMetric(run.Eval.ExactMatch, "EM")
		b.ReportMetric(run.Eval.CharAccuracy, "char-acc")
	}
}
