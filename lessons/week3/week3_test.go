package week3

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/quant/calib"
	"github.com/divellm/divellm/llm/safetensors"
	"github.com/divellm/divellm/llm/sample"
)

func TestWindowsAndNames(t *testing.T) {
	w := Windows([]int{1, 2, 3, 4, 5}, 2)
	if len(w) != 3 || len(w[2]) != 1 || w[1][0] != 3 {
		t.Fatalf("Windows = %v", w)
	}
	for in, want := range map[string]string{
		"transformer.h.3.mlp.c_proj":                "mlp.c_proj",
		"bert.encoder.layer.0.attention.self.query": "attention.self.query",
		"transformer.h.12.attn.c_attn":              "attn.c_attn",
		"score":                                     "score",
	} {
		if got := matrixName(in); got != want {
			t.Errorf("matrixName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCorpusAndPerplexity(t *testing.T) {
	m, err := lessons.LoadModel(lessons.GPTTinyZH)
	if err != nil {
		t.Skip(err)
	}
	cal, ev, err := CorpusIDs(m, 300)
	if err != nil {
		t.Fatal(err)
	}
	if len(cal) != 300 || len(ev) < 1000 {
		t.Fatalf("%d calibration, %d evaluation tokens", len(cal), len(ev))
	}
	ev = ev[:640]
	p, err := Perplexity(m, ev)
	if err != nil {
		t.Fatal(err)
	}
	// Reference: the plain-Go runner's logits, windows of 64, exp(mean NLL).
	r, _ := calib.New(m)
	var nll float64
	n := 0
	V := m.Config.VocabSize
	for _, w := range Windows(ev, Window) {
		lg, err := r.Logits(w)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(w); i++ {
			row := lg[i*V : (i+1)*V]
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, float64(v))
			}
			var s float64
			for _, v := range row {
				s += math.Exp(float64(v) - mx)
			}
			nll += mx + math.Log(s) - float64(row[w[i+1]])
			n++
		}
	}
	if want := math.Exp(nll / float64(n)); math.Abs(p-want) > 1e-3*want {
		t.Errorf("perplexity %v, reference %v", p, want)
	}
	if p < 1.5 || p > 10 {
		t.Errorf("gpt-tiny-zh perplexity %v in its trained window: not a trained model?", p)
	}
	if _, _, err := CorpusIDs(m, 1<<30); err == nil {
		t.Error("more calibration tokens than the corpus accepted")
	}
}

func TestAttentionMaps(t *testing.T) {
	m, err := lessons.LoadModel(lessons.GPTTinyZH)
	if err != nil {
		t.Skip(err)
	}
	toks, maps, err := AttentionMaps(m, "磁盘使用率", 1, Variant{Name: "int8", Scheme: quant.Int8, Method: calib.RTN})
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 5 || len(maps) != 2 || len(maps[0]) != m.Config.Heads || len(maps[0][0]) != 5 {
		t.Fatalf("%d tokens, %d maps", len(toks), len(maps))
	}
	// causal rows sum to 1 and int8 stays close
	for _, row := range maps[1][0] {
		s := 0.0
		for _, v := range row {
			s += v
		}
		if math.Abs(s-1) > 1e-5 {
			t.Fatalf("row sums to %v", s)
		}
	}
	if d := MaxAbsDiff(maps[0], maps[1]); d <= 0 || d > 0.05 {
		t.Errorf("int8 attention differs by %v", d)
	}
	if _, _, err := AttentionMaps(m, "x", 99); err == nil {
		t.Error("layer 99 accepted")
	}
	if _, _, err := AttentionMaps(m, "x", 0, Variant{Method: calib.GPTQ, Scheme: quant.Int8}); err == nil {
		t.Error("GPTQ variant without calibration accepted")
	}
}

func TestW8A8Errors(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	n, cols, rows := 64, 32, 24
	a := LayerActs{Module: "test", Rows: n, Cols: cols, X: make([]float32, n*cols)}
	for i := range a.X {
		a.X[i] = float32(rng.NormFloat64())
	}
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.1)
	}
	am, _ := quant.ActAbsMax(a.X, n, cols)
	a.ChanMax = Float64s(am)
	base, err := W8A8Errors(a, w, rows, LLMInt8Threshold)
	if err != nil {
		t.Fatal(err)
	}
	big, w2, err := InjectOutlier(a, w, rows, 3, 40)
	if err != nil {
		t.Fatal(err)
	}
	// the float32 product is unchanged
	y1 := calib.MatMulT(a.X, w, nil, n, cols, rows)
	y2 := calib.MatMulT(big.X, w2, nil, n, cols, rows)
	if m, _ := quant.Compare(y1, y2); m.SNR < 100 {
		t.Fatalf("InjectOutlier changed the product: SNR %v", m.SNR)
	}
	out, err := W8A8Errors(big, w2, rows, LLMInt8Threshold)
	if err != nil {
		t.Fatal(err)
	}
	perTok, smooth, mixed := out[1].Metrics.SNR, out[2].Metrics.SNR, out[3].Metrics.SNR
	if perTok > base[1].Metrics.SNR-10 {
		t.Errorf("the outlier should cost per-token W8A8 ≥ 10 dB: %.1f → %.1f", base[1].Metrics.SNR, perTok)
	}
	if smooth < perTok+5 || mixed < perTok+10 {
		t.Errorf("SmoothQuant %.1f / LLM.int8 %.1f should beat per-token %.1f", smooth, mixed, perTok)
	}
	if out[0].Metrics.SNR > perTok {
		t.Errorf("per-tensor %.1f better than per-token %.1f", out[0].Metrics.SNR, perTok)
	}
	// Per-token fake quantization matches the real W8A8 kernel.
	q, _ := quant.Quantize(w, rows, cols, quant.Int8)
	l, _ := quant.NewW8A8(q, nil)
	y := make([]float32, n*rows)
	if err := l.Forward(y, a.X, n); err != nil {
		t.Fatal(err)
	}
	mk, _ := quant.Compare(y1, y)
	if math.Abs(mk.SNR-base[1].Metrics.SNR) > 0.5 {
		t.Errorf("kernel SNR %.2f, fake per-token %.2f", mk.SNR, base[1].Metrics.SNR)
	}
	if _, _, err := InjectOutlier(a, w, rows, cols, 2); err == nil {
		t.Error("channel out of range accepted")
	}
}

func TestTimeGEMMAndParse(t *testing.T) {
	rs, err := TimeGEMM(2, 64, 128, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(GEMMKernels) {
		t.Fatalf("%d rows", len(rs))
	}
	for _, r := range rs[1:] {
		if r.SNR < 15 || r.MB >= rs[0].MB {
			t.Errorf("%s: SNR %.1f dB, %.3f MB (fp32 %.3f)", r.Kernel, r.SNR, r.MB, rs[0].MB)
		}
	}
	if rs[1].SNR < 30 { // int8
		t.Errorf("int8 SNR %.1f", rs[1].SNR)
	}
	if _, err := TimeGEMM(0, 1, 1, 1); err == nil {
		t.Error("empty shape accepted")
	}
	got, err := ParseTorch([]byte(`[{"shape": "[1x768]x[768x3072]", "fp32_ms": 0.5, "int8_ms": 0.2, "speedup": 2.5}]`))
	if err != nil || len(got) != 1 || got[0].Int8 != 0.2 {
		t.Fatalf("ParseTorch: %v %v", got, err)
	}
	for _, bad := range []string{"", "[]", `[{"shape":"x","fp32_ms":1,"int8_ms":1}]`, `[{"shape":"[1]","fp32_ms":0,"int8_ms":1}]`} {
		if _, err := ParseTorch([]byte(bad)); err == nil {
			t.Errorf("ParseTorch accepted %q", bad)
		}
	}
	if _, ok := TorchPython(); !ok {
		if _, err := TorchGEMM("1x8x8"); !errors.Is(err, ErrNoTorch) {
			t.Errorf("without torch: %v", err)
		}
	} else if !testing.Short() {
		rs, err := TorchGEMM("1x64x128")
		if err != nil || len(rs) != 1 || rs[0].Shape != "[1x64]x[64x128]" {
			t.Errorf("PyTorch rows %+v, %v", rs, err)
		}
	}
}

func TestTimeDecode(t *testing.T) {
	c := llm.TinyGPT(40)
	c.DModel, c.Heads, c.Layers, c.DFF, c.MaxPos = 64, 2, 1, 128, 32
	m, err := llm.New(c, llm.HeadSet{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := TimeDecode("tiny", m, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(DecodeFormats) || !(rs[0].TokensPS > 0) || rs[1].WeightsMB >= rs[0].WeightsMB || rs[2].WeightsMB >= rs[1].WeightsMB {
		t.Fatalf("%+v", rs)
	}
	if _, err := TimeDecode("tiny", m, 100); err == nil {
		t.Error("too many tokens accepted")
	}
}

func TestAccuracyMatchesForward(t *testing.T) {
	m, err := lessons.LoadModel(lessons.BERTTinyZH)
	if err != nil {
		t.Skip(err)
	}
	if err := m.AddClassifier(data.AlertLabels(), 1); err != nil {
		t.Fatal(err)
	}
	ex, err := data.Alerts("val")
	if err != nil {
		t.Fatal(err)
	}
	ex = ex[:70] // two batches
	acc, err := Accuracy(m, ex)
	if err != nil {
		t.Fatal(err)
	}
	// one example at a time, unpadded
	right := 0
	seqs, cls, _ := alertBatches(m, ex, MaxLen)
	for i, s := range seqs {
		out, err := m.Forward(llm.Batch{IDs: [][]int{s}}, llm.ForwardOptions{SkipLogits: true})
		if err != nil {
			t.Fatal(err)
		}
		if sample.Argmax(out.Classes.Data) == cls[i] {
			right++
		}
	}
	if want := 100 * float64(right) / float64(len(seqs)); math.Abs(acc-want) > 1e-9 {
		t.Errorf("Accuracy %v, one by one %v", acc, want)
	}
	if _, err := Accuracy(m, nil); err == nil {
		t.Error("no examples accepted")
	}
}

func TestWithWeights(t *testing.T) {
	c := llm.TinyGPT(30)
	c.DModel, c.Heads, c.Layers, c.DFF, c.MaxPos = 32, 2, 1, 64, 16
	m, err := llm.New(c, llm.HeadSet{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	res, err := calib.Quantize(m, calib.Options{Scheme: quant.Int4Group32})
	if err != nil {
		t.Fatal(err)
	}
	qs := map[string]*quant.Tensor{}
	for _, l := range res.Layers {
		qs[l.Module] = l.Tensor
	}
	got, err := withWeights(m, qs)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range m.Weights.Names() {
		a, _ := got.Weights.Float32(n)
		b, _ := res.Model.Weights.Float32(n)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s[%d]: %v vs %v", n, i, a[i], b[i])
			}
		}
	}
	delete(qs, "transformer.h.0.mlp.c_fc")
	if _, err := withWeights(m, qs); err == nil {
		t.Error("a missing layer accepted")
	}
}

func TestCached(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+lessons.Module+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DIVELLM_ROOT", root)
	calls := 0
	fn := func() ([]float64, error) { calls++; return []float64{1.5, 2}, nil }
	for range 2 {
		v, err := cached("t", key("a", 1), fn)
		if err != nil || len(v) != 2 || v[0] != 1.5 {
			t.Fatalf("cached = %v, %v", v, err)
		}
	}
	if calls != 1 {
		t.Fatalf("computed %d times", calls)
	}
	path := filepath.Join(root, ".cache", "week3", "t-"+key("a", 1)+".json")
	if err := os.WriteFile(path, []byte("{broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cached("t", key("a", 1), fn); err != nil || calls != 2 {
		t.Fatalf("a broken cache file was not recomputed: %v, %d calls", err, calls)
	}
	if key("a", 1) == key("a", 2) {
		t.Error("keys ignore their parts")
	}
	if _, err := cached("t", "x", func() (int, error) { return 0, errors.New("boom") }); err == nil {
		t.Error("an error was cached")
	}
}

func TestTrainClassifierLoRA(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few steps")
	}
	m, err := lessons.LoadModel(lessons.BERTTinyZH)
	if err != nil {
		t.Skip(err)
	}
	if err := m.AddClassifier(data.AlertLabels(), 1); err != nil {
		t.Fatal(err)
	}
	if err := m.AddLoRA(llm.LoRAConfig{Rank: 2, Targets: "all-linear"}); err != nil {
		t.Fatal(err)
	}
	base := m.Config.Linears()[0].Module + ".weight"
	before := map[string][]float32{}
	for _, n := range m.Weights.Names() {
		before[n], _ = m.Weights.Float32(n)
	}
	if _, err := TrainClassifier(m, llm.TrainConfig{Steps: 3, LR: 3e-3, Seed: 1, Trainable: m.LoRATrainable}); err != nil {
		t.Fatal(err)
	}
	changed := func(n string) bool {
		a, _ := m.Weights.Float32(n)
		for i := range a {
			if a[i] != before[n][i] {
				return true
			}
		}
		return false
	}
	if changed(base) {
		t.Error("the frozen base weight changed")
	}
	nLoRA, nHead := 0, 0
	for n := range before {
		if m.LoRATrainable(n) && changed(n) {
			if strings.Contains(n, "lora") {
				nLoRA++
			} else {
				nHead++
			}
		}
	}
	if nLoRA == 0 || nHead == 0 {
		t.Errorf("trained %d adapter and %d head tensors", nLoRA, nHead)
	}
}

// The shipped-adapter path gives the trained model back: a short NF4 QLoRA run, written as
// the build writes it and loaded onto a fresh NF4 base, has the same accuracy and counts.
func TestQLoRAShipRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a few steps")
	}
	dir, err := lessons.ModelDir(lessons.BERTTinyZH)
	if err != nil {
		t.Skip(err)
	}
	row, m, err := qloraRun(dir, "NF4", 3)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "qlora-nf4")
	if err := writeQLoRA(out, m, qloraShipped{Recipe: "r", Row: row}); err != nil {
		t.Fatal(err)
	}
	got, err := qloraEval(dir, "NF4", out, row.Seconds)
	if err != nil {
		t.Fatal(err)
	}
	if got != row {
		t.Fatalf("reloaded %+v, trained %+v", got, row)
	}
	if err := safetensors.CheckReplaceable(out); err != nil {
		t.Fatalf("the build could not replace its own output: %v", err)
	}
}

// The adapters shipped in models/ were built with this package's recipe (otherwise the
// notebook would train them again), and loading the NF4 one reproduces the accuracy its
// build recorded.
func TestShippedQLoRA(t *testing.T) {
	dir, err := lessons.ModelDir(lessons.BERTTinyZH)
	if err != nil {
		t.Skip(err)
	}
	mk, err := modelKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range qloraBases {
		sd, rec, ok, err := shippedQLoRA(b.Suffix, QLoRARecipe(mk))
		if err != nil {
			t.Fatal(err)
		}
		if sd == "" {
			t.Skipf("models/%s%s is not in this checkout", QLoRAModel, b.Suffix)
		}
		if !ok {
			t.Fatalf("%s was built with recipe %s, this package's is %s: rebuild it (scripts/make-models.sh qlora)", sd, rec.Recipe, QLoRARecipe(mk))
		}
		if rec.Row.Base != b.Base {
			t.Fatalf("%s records base %q, want %q", sd, rec.Row.Base, b.Base)
		}
		if b.Base != "NF4" || testing.Short() {
			continue
		}
		got, err := qloraEval(dir, b.Base, sd, rec.Row.Seconds)
		if err != nil {
			t.Fatal(err)
		}
		if got != rec.Row {
			t.Fatalf("evaluated %+v, the build recorded %+v", got, rec.Row)
		}
	}
}
