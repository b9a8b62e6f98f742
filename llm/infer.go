package llm

import (
	"fmt"

	"github.com/divellm/divellm/llm/backend"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Array is a float32 tensor in plain Go: row-major Data with its Shape.
type Array struct {
	Shape []int
	Data  []float32
}

// At returns the element at the given indices.
func (a *Array) At(idx ...int) float32 {
	off := 0
	for i, x := range idx {
		off = off*a.Shape[i] + x
	}
	for i := len(idx); i < len(a.Shape); i++ {
		off *= a.Shape[i]
	}
	return a.Data[off]
}

// Row returns the contiguous last-axis slice at the given leading indices.
func (a *Array) Row(idx ...int) []float32 {
	n := a.Shape[len(a.Shape)-1]
	off := 0
	for i, x := range idx {
		off = off*a.Shape[i] + x
	}
	return a.Data[off*n : (off+1)*n]
}

// Matrix returns the 2-D slice [rows][cols] of the last two axes at the leading indices,
// as float64 (what viz and the lessons take).
func (a *Array) Matrix(idx ...int) [][]float64 {
	r, c := a.Shape[len(a.Shape)-2], a.Shape[len(a.Shape)-1]
	off := 0
	for i, x := range idx {
		off = off*a.Shape[i] + x
	}
	out := make([][]float64, r)
	for i := range out {
		out[i] = make([]float64, c)
		for j := range out[i] {
			out[i][j] = float64(a.Data[off*r*c+i*c+j])
		}
	}
	return out
}

func arrayOf(t *tensors.Tensor) *Array {
	return &Array{Shape: t.Shape().Dimensions, Data: tensors.MustCopyFlatData[float32](t)}
}

// Batch is a rectangular batch of token ids. TypeIDs (BERT segments) and Mask
// (1 = token, 0 = padding) may be nil.
type Batch struct {
	IDs     [][]int
	TypeIDs [][]int
	Mask    [][]int
}

// PadBatch right-pads sequences with padID to the longest length and builds the mask.
func PadBatch(seqs [][]int, padID int) Batch {
	n := 0
	for _, s := range seqs {
		n = max(n, len(s))
	}
	b := Batch{IDs: make([][]int, len(seqs)), Mask: make([][]int, len(seqs))}
	for i, s := range seqs {
		b.IDs[i] = make([]int, n)
		b.Mask[i] = make([]int, n)
		for j := range n {
			if j < len(s) {
				b.IDs[i][j], b.Mask[i][j] = s[j], 1
			} else {
				b.IDs[i][j] = padID
			}
		}
	}
	return b
}

func (b Batch) check(c Config) (rows, cols int, err error) {
	rows = len(b.IDs)
	if rows == 0 || len(b.IDs[0]) == 0 {
		return 0, 0, fmt.Errorf("empty batch")
	}
	cols = len(b.IDs[0])
	if cols > c.MaxPos {
		return 0, 0, fmt.Errorf("sequence of %d tokens exceeds the model's %d positions", cols, c.MaxPos)
	}
	for name, m := range map[string][][]int{"ids": b.IDs, "type ids": b.TypeIDs, "mask": b.Mask} {
		if m == nil {
			continue
		}
		if len(m) != rows {
			return 0, 0, fmt.Errorf("%s has %d rows, ids has %d", name, len(m), rows)
		}
		for i, r := range m {
			if len(r) != cols {
				return 0, 0, fmt.Errorf("%s row %d has %d entries, want %d (pad the batch)", name, i, len(r), cols)
			}
		}
	}
	for i, r := range b.IDs {
		for j, id := range r {
			if id < 0 || id >= c.VocabSize {
				return 0, 0, fmt.Errorf("token id %d at [%d,%d] is outside the vocabulary [0,%d)", id, i, j, c.VocabSize)
			}
		}
	}
	for i, r := range b.TypeIDs {
		for j, id := range r {
			if id < 0 || id >= max(c.TypeVocab, 1) {
				return 0, 0, fmt.Errorf("token type %d at [%d,%d] is outside [0,%d)", id, i, j, max(c.TypeVocab, 1))
			}
		}
	}
	return rows, cols, nil
}

func int32Tensor(m [][]int) *tensors.Tensor {
	rows, cols := len(m), len(m[0])
	flat := make([]int32, 0, rows*cols)
	for _, r := range m {
		for _, v := range r {
			flat = append(flat, int32(v))
		}
	}
	return tensors.FromFlatDataAndDimensions(flat, rows, cols)
}

// ForwardOptions selects extra outputs of [Model.Forward].
type ForwardOptions struct {
	Attentions   bool // every layer's attention probabilities [b, h, s, s]
	HiddenStates bool // embeddings output and every layer's output [b, s, m]
}

// Output is what a forward pass returns. Fields a model or the options do not produce are nil.
type Output struct {
	Logits       *Array   // [b, s, vocab]: next-token (GPT) or masked-token (BERT) logits
	LastHidden   *Array   // [b, s, m]
	HiddenStates []*Array // layers+1 × [b, s, m]
	Attentions   []*Array // layers × [b, h, s, s]
	Pooled       *Array   // BERT [b, m]
	QAStart      *Array   // [b, s]
	QAEnd        *Array   // [b, s]
	Classes      *Array   // [b, labels] (BERT) or [b, s, labels] (GPT)
}

// Forward runs the model on a batch (no dropout).
func (m *Model) Forward(b Batch, o ForwardOptions) (*Output, error) {
	if _, _, err := b.check(m.Config); err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	be, err := backend.Get()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	names := m.Params.Names()
	hasType, hasMask := b.TypeIDs != nil, b.Mask != nil
	key := fmt.Sprintf("fwd/%v/%v/%v/%v", o.Attentions, o.HiddenStates, hasType, hasMask)
	e, err := m.exec(key, func() (*graph.Exec, error) {
		return graph.NewExec(be, func(in []*graph.Node) []*graph.Node {
			p := paramNodes(names, in)
			rest := in[len(names):]
			ids := rest[0]
			var typeIDs, mask *graph.Node
			k := 1
			if hasType {
				typeIDs, k = rest[k], k+1
			}
			if hasMask {
				mask = rest[k]
			}
			out := forward(m.Config, p, ids, typeIDs, mask, nil, fwdOptions{attentions: o.Attentions, hidden: o.HiddenStates})
			return collectOutputs(out)
		})
	})
	if err != nil {
		return nil, err
	}
	args := make([]any, 0, len(names)+3)
	for _, t := range m.paramTensors() {
		args = append(args, t)
	}
	args = append(args, int32Tensor(b.IDs))
	if hasType {
		args = append(args, int32Tensor(b.TypeIDs))
	}
	if hasMask {
		args = append(args, int32Tensor(b.Mask))
	}
	var res []*tensors.Tensor
	err = backend.Catch(func() error {
		var e2 error
		res, e2 = e.Exec(args...)
		return e2
	})
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	return unpackOutputs(m.Config, m.Heads(), o, res), nil
}

// collectOutputs flattens fwdOut into a node list in a fixed order (see unpackOutputs).
func collectOutputs(o fwdOut) []*graph.Node {
	var out []*graph.Node
	for _, n := range []*graph.Node{o.logits, o.last, o.pooled, o.qaStart, o.qaEnd, o.classes} {
		if n != nil {
			out = append(out, n)
		}
	}
	out = append(out, o.hidden...)
	out = append(out, o.attentions...)
	return out
}

func unpackOutputs(c Config, h HeadSet, o ForwardOptions, res []*tensors.Tensor) *Output {
	out := &Output{}
	i := 0
	next := func() *Array { a := arrayOf(res[i]); i++; return a }
	if c.Arch == GPT || h.MLM {
		out.Logits = next()
	}
	out.LastHidden = next()
	if c.Arch == BERT && (h.Pooler || h.Classifier) {
		out.Pooled = next()
	}
	if h.QA {
		out.QAStart, out.QAEnd = next(), next()
	}
	if h.Classifier {
		out.Classes = next()
	}
	if o.HiddenStates {
		for range c.Layers + 1 {
			out.HiddenStates = append(out.HiddenStates, next())
		}
	}
	if o.Attentions {
		for range c.Layers {
			out.Attentions = append(out.Attentions, next())
		}
	}
	return out
}
