package llm

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"unsafe"

	"github.com/divellm/divellm/llm/backend"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

// Weights holds a model's parameters by Hugging Face name, as backend tensors and nothing
// else: the one owner of the weights. Graphs read these tensors directly; training
// replaces them in place with each step's result. Anything that needs float32 in plain Go
// (the step-through, quantization) asks for an explicit copy of one tensor with
// [Weights.Float32].
//
// Weights is safe for concurrent use; a model's runs and training steps are serialised by
// the model. The zero value is an empty set ready to use.
type Weights struct {
	mu      sync.RWMutex
	shapes  map[string][]int
	tensors map[string]*tensors.Tensor
	version int // bumps when the set of names (not the values) changes
}

func newWeights() *Weights {
	return &Weights{shapes: map[string][]int{}, tensors: map[string]*tensors.Tensor{}}
}

// Names returns the parameter names, sorted: the order tensors are fed to graphs.
func (w *Weights) Names() []string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	names := make([]string, 0, len(w.shapes))
	for n := range w.shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Len is the number of tensors.
func (w *Weights) Len() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return len(w.shapes)
}

// Has reports whether a tensor exists.
func (w *Weights) Has(name string) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	_, ok := w.shapes[name]
	return ok
}

// Shape returns a tensor's shape (nil if absent).
func (w *Weights) Shape(name string) []int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return append([]int(nil), w.shapes[name]...)
}

// Count is the total number of scalars.
func (w *Weights) Count() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	n := 0
	for _, s := range w.shapes {
		n += shapeSize(s)
	}
	return n
}

// Bytes is the memory the weights occupy (float32).
func (w *Weights) Bytes() int64 { return 4 * int64(w.Count()) }

// Float32 returns a copy of one tensor's values, row-major.
func (w *Weights) Float32(name string) ([]float32, error) {
	var out []float32
	err := w.View(name, func(data []float32) { out = append([]float32(nil), data...) })
	return out, err
}

// View calls fn with the tensor's values without copying them. fn must not modify the
// slice nor keep it after returning.
func (w *Weights) View(name string, fn func(data []float32)) error {
	t := w.tensor(name)
	if t == nil {
		return fmt.Errorf("weights: no tensor %q", name)
	}
	return tensors.ConstFlatData(t, fn)
}

// Set stores data (copied) as the tensor name with the given shape, adding it or
// replacing the old values; only that tensor changes.
func (w *Weights) Set(name string, shape []int, data []float32) error {
	if len(data) != shapeSize(shape) {
		return fmt.Errorf("weights: %q: %d values for shape %v", name, len(data), shape)
	}
	var raw []byte
	if len(data) > 0 {
		raw = unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))
	}
	t, err := newTensor(shape, raw)
	if err != nil {
		return fmt.Errorf("weights: %q: %w", name, err)
	}
	w.put(name, shape, t)
	return nil
}

// newTensor makes a float32 backend tensor holding a copy of raw (little-endian bytes).
func newTensor(shape []int, raw []byte) (*tensors.Tensor, error) {
	be, err := backend.Get()
	if err != nil {
		return nil, err
	}
	var t *tensors.Tensor
	err = backend.Catch(func() error {
		var e error
		t, e = tensors.FromRaw(be, 0, shapeOf(dtypes.Float32, shape...), raw)
		return e
	})
	return t, err
}

// put installs t as tensor name.
func (w *Weights) put(name string, shape []int, t *tensors.Tensor) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.shapes == nil {
		w.shapes, w.tensors = map[string][]int{}, map[string]*tensors.Tensor{}
	}
	if _, ok := w.shapes[name]; !ok {
		w.version++
	}
	w.shapes[name] = append([]int(nil), shape...)
	w.tensors[name] = t
}

// Delete removes a tensor (no-op if absent).
func (w *Weights) Delete(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.shapes[name]; ok {
		delete(w.shapes, name)
		delete(w.tensors, name)
		w.version++
	}
}

// Clone returns an independent deep copy (e.g. a frozen reference model for DPO).
func (w *Weights) Clone() (*Weights, error) {
	out := newWeights()
	for _, n := range w.Names() {
		var err error
		shape := w.Shape(n)
		verr := w.View(n, func(data []float32) { err = out.Set(n, shape, data) })
		if verr != nil {
			return nil, verr
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// tensor returns the backend tensor (nil if absent).
func (w *Weights) tensor(name string) *tensors.Tensor {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.tensors[name]
}

// tensorList returns the tensors of names, in order.
func (w *Weights) tensorList(names []string) []*tensors.Tensor {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]*tensors.Tensor, len(names))
	for i, n := range names {
		out[i] = w.tensors[n]
	}
	return out
}

// replace swaps in new tensors for existing names (a training step's results).
func (w *Weights) replace(names []string, ts []*tensors.Tensor) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, n := range names {
		w.tensors[n] = ts[i]
	}
}

// layout is a key that changes whenever the set of names changes: compiled graphs are
// cached under it.
func (w *Weights) layout() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.version
}

// CheckFinite reports the first tensor (in name order) holding NaN or ±Inf, with counts,
// e.g. "transformer.wte.weight has 3 NaN values".
func (w *Weights) CheckFinite() error {
	for _, n := range w.Names() {
		var nan, inf int
		if err := w.View(n, func(data []float32) {
			for _, v := range data {
				f := float64(v)
				if math.IsNaN(f) {
					nan++
				} else if math.IsInf(f, 0) {
					inf++
				}
			}
		}); err != nil {
			return err
		}
		switch {
		case nan > 0 && inf > 0:
			return fmt.Errorf("%s has %d NaN and %d infinite values", n, nan, inf)
		case nan > 0:
			return fmt.Errorf("%s has %d NaN values", n, nan)
		case inf > 0:
			return fmt.Errorf("%s has %d infinite values", n, inf)
		}
	}
	return nil
}
