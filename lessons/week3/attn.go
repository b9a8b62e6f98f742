package week3

import (
	"fmt"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant/calib"
	"github.com/divellm/divellm/llm/tokenizer"
)

// AttentionMaps runs text through m in float32 and through each variant's fake-quantized
// copy (RTN only: no calibration needed) and returns the tokens and, per model (float32
// first, then the variants in order), layer's attention probabilities [head][query][key].
func AttentionMaps(m *llm.Model, text string, layer int, variants ...Variant) (tokens []string, maps [][][][]float64, err error) {
	if m.Tokenizer == nil {
		return nil, nil, fmt.Errorf("week3: the model has no tokenizer")
	}
	if layer < 0 || layer >= m.Config.Layers {
		return nil, nil, fmt.Errorf("week3: layer %d outside [0, %d)", layer, m.Config.Layers)
	}
	var toks []tokenizer.Token
	if m.Config.Arch == llm.GPT { // a GPT reads the plain tokens
		toks = m.Tokenizer.Encode(text)
		toks = toks[:min(len(toks), m.Config.MaxPos)]
	} else {
		_, toks = tokenizer.EncodeSingle(m.Tokenizer, text, m.Config.MaxPos)
	}
	ids := tokenizer.IDs(toks)
	for _, t := range toks {
		tokens = append(tokens, t.Text)
	}
	models := []*llm.Model{m}
	for _, v := range variants {
		if v.Method != calib.RTN && v.Method != calib.NF4 {
			return nil, nil, fmt.Errorf("week3: %s: attention maps use RTN or NF4 variants", v.Name)
		}
		res, err := calib.Quantize(m, calib.Options{Scheme: v.Scheme, Method: v.Method})
		if err != nil {
			return nil, nil, err
		}
		models = append(models, res.Model)
	}
	for _, mm := range models {
		r, err := calib.New(mm)
		if err != nil {
			return nil, nil, err
		}
		var got [][][]float64
		r.Attn = func(l int, p []float32, t int) {
			if l != layer {
				return
			}
			h := len(p) / (t * t)
			got = make([][][]float64, h)
			for hd := range h {
				got[hd] = make([][]float64, t)
				for i := range t {
					got[hd][i] = Float64s(p[(hd*t+i)*t : (hd*t+i+1)*t])
				}
			}
		}
		if _, err := r.Hidden(ids); err != nil {
			return nil, nil, err
		}
		maps = append(maps, got)
	}
	return tokens, maps, nil
}

// MaxAbsDiff is the largest |a − b| over two attention maps of the same shape.
func MaxAbsDiff(a, b [][][]float64) float64 {
	d := 0.0
	for h := range a {
		for i := range a[h] {
			for j := range a[h][i] {
				d = max(d, abs(a[h][i][j]-b[h][i][j]))
			}
		}
	}
	return d
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
