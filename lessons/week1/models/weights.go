package models

import (
	"fmt"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/attention"
)

// tensor is a float32 copy of one of the model's weights.
type tensor struct {
	Shape []int
	Data  []float32
}

// weight copies one weight tensor of m out by its Hugging Face name. It is the only place
// in this package that reads the model's weights, so a change of how llm stores them
// changes one function.
func weight(m *llm.Model, name string) (*tensor, error) {
	if !m.Weights.Has(name) {
		return nil, fmt.Errorf("the model has no weight %s", name)
	}
	data, err := m.Weights.Float32(name)
	if err != nil {
		return nil, err
	}
	return &tensor{Shape: m.Weights.Shape(name), Data: data}, nil
}

// archName is how the lesson names an architecture: GPT (decoder) or BERT (encoder).
func archName(a llm.Arch) string {
	if a == llm.BERT {
		return "BERT"
	}
	return "GPT"
}

// paramCount is the number of weights (parameters) of m.
func paramCount(m *llm.Model) int { return m.Weights.Count() }

// matrix returns a 2-D weight as [rows][cols] float64.
func matrix(m *llm.Model, name string) ([][]float64, error) {
	p, err := weight(m, name)
	if err != nil {
		return nil, err
	}
	if len(p.Shape) != 2 {
		return nil, fmt.Errorf("weight %s has shape %v, want a matrix", name, p.Shape)
	}
	rows, cols := p.Shape[0], p.Shape[1]
	out := make([][]float64, rows)
	for i := range out {
		out[i] = make([]float64, cols)
		for j := range out[i] {
			out[i][j] = float64(p.Data[i*cols+j])
		}
	}
	return out, nil
}

// vector returns a 1-D weight as float64.
func vector(m *llm.Model, name string) ([]float64, error) {
	p, err := weight(m, name)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(p.Data))
	for i, v := range p.Data {
		out[i] = float64(v)
	}
	return out, nil
}

// headWeights extracts head h of layer l's Q/K/V projections as input-major [m, d] matrices.
func headWeights(m *llm.Model, l, h int) (attention.HeadWeights, error) {
	c := m.Config
	d, dm := c.HeadDim(), c.DModel
	var w attention.HeadWeights
	get := func(name string) (*tensor, error) { return weight(m, name) }
	if c.Arch == llm.GPT {
		pre := fmt.Sprintf("transformer.h.%d.attn.c_attn.", l)
		wt, err := get(pre + "weight") // Conv1D [m, 3m]: columns q | k | v, head h at h·d
		if err != nil {
			return w, err
		}
		bs, err := get(pre + "bias")
		if err != nil {
			return w, err
		}
		slice := func(part int) ([][]float64, []float64) {
			mat := make([][]float64, dm)
			for i := range mat {
				mat[i] = make([]float64, d)
				for j := range d {
					mat[i][j] = float64(wt.Data[i*3*dm+part*dm+h*d+j])
				}
			}
			b := make([]float64, d)
			for j := range d {
				b[j] = float64(bs.Data[part*dm+h*d+j])
			}
			return mat, b
		}
		w.Wq, w.Bq = slice(0)
		w.Wk, w.Bk = slice(1)
		w.Wv, w.Bv = slice(2)
		return w, nil
	}
	pre := fmt.Sprintf("bert.encoder.layer.%d.attention.self.", l)
	lin := func(name string) ([][]float64, []float64, error) { // Linear [out, in] → [in, d]
		wt, err := get(pre + name + ".weight")
		if err != nil {
			return nil, nil, err
		}
		bs, err := get(pre + name + ".bias")
		if err != nil {
			return nil, nil, err
		}
		mat := make([][]float64, dm)
		for i := range mat {
			mat[i] = make([]float64, d)
			for j := range d {
				mat[i][j] = float64(wt.Data[(h*d+j)*dm+i])
			}
		}
		b := make([]float64, d)
		for j := range d {
			b[j] = float64(bs.Data[h*d+j])
		}
		return mat, b, nil
	}
	var err error
	if w.Wq, w.Bq, err = lin("query"); err != nil {
		return w, err
	}
	if w.Wk, w.Bk, err = lin("key"); err != nil {
		return w, err
	}
	w.Wv, w.Bv, err = lin("value")
	return w, err
}
