package llm

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tinyBART(t *testing.T, vocab int, seed uint64) *Model {
	t.Helper()
	c := Config{Arch: BART, VocabSize: vocab, DModel: 32, Heads: 4, Layers: 2, DecLayers: 2, DFF: 64, MaxPos: 24,
		LayerNormE: 1e-5, Activation: "gelu", PadID: 0, BosID: 1, EosID: 2, DecoderStartID: 2}
	m, err := New(c, HeadSet{}, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Plain-Go BART, written from the HF modelling code, as an independent reference.
type refBART struct {
	t *testing.T
	m *Model
}

func (r refBART) w(name string) []float64 {
	d, err := r.m.Weights.Float32(name)
	if err != nil {
		r.t.Fatal(err)
	}
	out := make([]float64, len(d))
	for i, v := range d {
		out[i] = float64(v)
	}
	return out
}

func (r refBART) linear(x [][]float64, mod string) [][]float64 {
	w, b := r.w(mod+".weight"), r.w(mod+".bias")
	out := len(b)
	in := len(w) / out
	y := make([][]float64, len(x))
	for i, row := range x {
		y[i] = make([]float64, out)
		for o := range out {
			s := b[o]
			for k := range in {
				s += w[o*in+k] * row[k]
			}
			y[i][o] = s
		}
	}
	return y
}

func (r refBART) ln(x [][]float64, mod string) [][]float64 {
	g, b := r.w(mod+".weight"), r.w(mod+".bias")
	out := make([][]float64, len(x))
	for i, row := range x {
		var mean, v float64
		for _, a := range row {
			mean += a / float64(len(row))
		}
		for _, a := range row {
			v += (a - mean) * (a - mean) / float64(len(row))
		}
		out[i] = make([]float64, len(row))
		for j, a := range row {
			out[i][j] = (a-mean)/math.Sqrt(v+1e-5)*g[j] + b[j]
		}
	}
	return out
}

func addRows(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for i := range a {
		out[i] = make([]float64, len(a[i]))
		for j := range a[i] {
			out[i][j] = a[i][j] + b[i][j]
		}
	}
	return out
}

// attend is multi-head attention; causal masks keys after the query. It returns the
// context and head 0's probabilities.
func (r refBART) attend(q, k, v [][]float64, causal bool) ([][]float64, [][]float64) {
	h := r.m.Config.Heads
	d := len(q[0]) / h
	out := make([][]float64, len(q))
	for i := range out {
		out[i] = make([]float64, len(q[0]))
	}
	var probs0 [][]float64
	for hd := range h {
		for i := range q {
			scores := make([]float64, len(k))
			mx := math.Inf(-1)
			for j := range k {
				if causal && j > i {
					scores[j] = math.Inf(-1)
					continue
				}
				for x := range d {
					scores[j] += q[i][hd*d+x] * k[j][hd*d+x]
				}
				scores[j] /= math.Sqrt(float64(d))
				mx = max(mx, scores[j])
			}
			var z float64
			for j := range scores {
				scores[j] = math.Exp(scores[j] - mx)
				z += scores[j]
			}
			for j := range scores {
				scores[j] /= z
				for x := range d {
					out[i][hd*d+x] += scores[j] * v[j][hd*d+x]
				}
			}
			if hd == 0 {
				probs0 = append(probs0, scores)
			}
		}
	}
	return out, probs0
}

func gelu(x [][]float64) [][]float64 {
	for _, row := range x {
		for j, a := range row {
			row[j] = a * 0.5 * (1 + math.Erf(a/math.Sqrt2))
		}
	}
	return x
}

func (r refBART) embed(ids []int, pos, ln string) [][]float64 {
	e, p := r.w("model.shared.weight"), r.w(pos+".weight")
	m := r.m.Config.DModel
	x := make([][]float64, len(ids))
	for i, id := range ids {
		x[i] = make([]float64, m)
		for j := range m {
			x[i][j] = e[id*m+j] + p[(i+2)*m+j]
		}
	}
	return r.ln(x, ln)
}

func (r refBART) forward(src, dec []int) (logits, cross0 [][]float64) {
	c := r.m.Config
	x := r.embed(src, "model.encoder.embed_positions", "model.encoder.layernorm_embedding")
	for l := range c.Layers {
		n := c.LayerNames(l)
		ctx, _ := r.attend(r.linear(x, n.Q), r.linear(x, n.K), r.linear(x, n.V), false)
		x = r.ln(addRows(x, r.linear(ctx, n.AttnOut)), n.AttnLN)
		x = r.ln(addRows(x, r.linear(gelu(r.linear(x, n.FFNIn)), n.FFNOut)), n.FFNLN)
	}
	y := r.embed(dec, "model.decoder.embed_positions", "model.decoder.layernorm_embedding")
	for l := c.Layers; l < c.Blocks(); l++ {
		n := c.LayerNames(l)
		ctx, _ := r.attend(r.linear(y, n.Q), r.linear(y, n.K), r.linear(y, n.V), true)
		y = r.ln(addRows(y, r.linear(ctx, n.AttnOut)), n.AttnLN)
		cctx, p := r.attend(r.linear(y, n.CrossQ), r.linear(x, n.CrossK), r.linear(x, n.CrossV), false)
		if l == c.Layers {
			cross0 = p
		}
		y = r.ln(addRows(y, r.linear(cctx, n.CrossOut)), n.CrossLN)
		y = r.ln(addRows(y, r.linear(gelu(r.linear(y, n.FFNIn)), n.FFNOut)), n.FFNLN)
	}
	e, bias := r.w("model.shared.weight"), r.w("final_logits_bias")
	m := c.DModel
	for _, row := range y {
		l := make([]float64, c.VocabSize)
		for v := range c.VocabSize {
			l[v] = bias[v]
			for j := range m {
				l[v] += row[j] * e[v*m+j]
			}
		}
		logits = append(logits, l)
	}
	return logits, cross0
}

func TestBARTMatchesPlainGoReference(t *testing.T) {
	m := tinyBART(t, 40, 11)
	// Larger weights than the 0.02 init so attention is far from uniform.
	for _, n := range m.Weights.Names() {
		if strings.HasSuffix(n, ".weight") && len(m.Weights.Shape(n)) == 2 {
			d, _ := m.Weights.Float32(n)
			for i := range d {
				d[i] *= 8
			}
			m.Weights.Set(n, m.Weights.Shape(n), d)
		}
	}
	src, dec := []int{5, 9, 13, 7, 22, 3}, []int{2, 17, 4, 30}
	out, err := m.Forward(Batch{IDs: [][]int{src}, DecoderIDs: [][]int{dec}}, ForwardOptions{Attentions: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Logits.Shape; got[1] != len(dec) || got[2] != 40 {
		t.Fatalf("logits shape %v", got)
	}
	if len(out.CrossAttentions) != 2 || out.CrossAttentions[0].Shape[2] != len(dec) || out.CrossAttentions[0].Shape[3] != len(src) {
		t.Fatalf("cross-attention shapes wrong: %d layers", len(out.CrossAttentions))
	}
	ref, cross0 := refBART{t, m}.forward(src, dec)
	worst := 0.0
	for i := range ref {
		for v := range ref[i] {
			worst = max(worst, math.Abs(ref[i][v]-float64(out.Logits.At(0, i, v))))
		}
	}
	if worst > 2e-3 {
		t.Fatalf("logits differ from the reference by %g", worst)
	}
	for i := range cross0 {
		for j := range cross0[i] {
			if d := math.Abs(cross0[i][j] - float64(out.CrossAttentions[0].At(0, 0, i, j))); d > 1e-4 {
				t.Fatalf("cross-attention [%d,%d] differs by %g", i, j, d)
			}
		}
	}
	// Future decoder tokens do not change earlier positions (causal decoder).
	out2, _ := m.Forward(Batch{IDs: [][]int{src}, DecoderIDs: [][]int{{2, 17, 4, 31}}}, ForwardOptions{})
	if d := maxDiff(out2.Logits.Row(0, 2), out.Logits.Row(0, 2)); d > 1e-5 {
		t.Fatalf("position 2 saw a later token (diff %g)", d)
	}
	t.Logf("max |diff| vs plain Go: logits %.2g", worst)
}

func TestBARTConfigAndCheckpointRoundTrip(t *testing.T) {
	m := tinyBART(t, 30, 3)
	dir := filepath.Join(t.TempDir(), "bart")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	var cfg map[string]any
	json.Unmarshal(raw, &cfg)
	for k, want := range map[string]any{"model_type": "bart", "encoder_layers": 2.0, "decoder_layers": 2.0, "d_model": 32.0,
		"decoder_attention_heads": 4.0, "decoder_ffn_dim": 64.0, "decoder_start_token_id": 2.0} {
		if cfg[k] != want {
			t.Errorf("config.json %s = %v, want %v", k, cfg[k], want)
		}
	}
	m2, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := Batch{IDs: [][]int{{4, 5, 6}}, DecoderIDs: [][]int{{2, 7}}}
	a, _ := m.Forward(b, ForwardOptions{})
	c, _ := m2.Forward(b, ForwardOptions{})
	if d := maxDiff(a.Logits.Data, c.Logits.Data); d != 0 {
		t.Fatalf("reloaded model differs by %g", d)
	}
	if _, err := m.Forward(Batch{IDs: [][]int{{4, 5}}}, ForwardOptions{}); err == nil {
		t.Fatal("an encoder-decoder ran without decoder ids")
	}
	bad := strings.Replace(string(raw), `"scale_embedding": false`, `"scale_embedding": true`, 1)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(bad), 0o644)
	if _, err := Load(dir); err == nil {
		t.Fatal("scale_embedding true accepted")
	}
}

func TestBARTLearnsToReverse(t *testing.T) {
	m := tinyBART(t, 16, 5)
	r := rand.New(rand.NewPCG(7, 7))
	mk := func(n int) ([][]int, [][]int) {
		var src, tgt [][]int
		for range n {
			k := 3 + r.IntN(4)
			s := make([]int, k)
			for i := range s {
				s[i] = 3 + r.IntN(13)
			}
			rev := make([]int, k)
			for i := range s {
				rev[i] = s[k-1-i]
			}
			src, tgt = append(src, s), append(tgt, rev)
		}
		return src, tgt
	}
	var batches []*TrainBatch
	for range 16 {
		s, tg := mk(32)
		tb, err := m.Config.Seq2SeqBatch(s, tg)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, tb)
	}
	vs, vt := mk(32)
	val, _ := m.Config.Seq2SeqBatch(vs, vt)
	tr, err := m.NewTrainer(TrainConfig{Objective: Seq2SeqLM, Steps: 300, LR: 3e-3, Seed: 1, EvalEvery: 300}, &sliceSource{b: batches}, []*TrainBatch{val})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Run(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	exact := 0
	for i := range 16 {
		g, err := m.GenerateSeq2Seq(vs[i], GenerateOptions{MaxTokens: 10})
		if err != nil {
			t.Fatal(err)
		}
		ok := len(g.IDs) == len(vt[i])
		for j := 0; ok && j < len(g.IDs); j++ {
			ok = g.IDs[j] == vt[i][j]
		}
		if ok {
			exact++
		}
	}
	t.Logf("val loss %.3f → %.3f; %d/16 held-out sequences reversed exactly", res.InitialValLoss, res.ValLoss, exact)
	if exact < 12 {
		t.Fatalf("only %d/16 reversed exactly after training (val loss %.3f)", exact, res.ValLoss)
	}
}
