// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops

import (
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/internal/fastmath"
	"github.com/gomlx/compute/internal/gobackend"
)

// Element-wise fusion: a chain (tree) of float32 element-wise nodes of the same shape, each
// used only by the next one, is executed as one node that evaluates the chain block by block
// (elementwiseBlock values at a time, the intermediates staying in L1) instead of writing and
// reading a full-size buffer per node. The root node keeps its OpType and shape; its inputs
// become the chain's leaves and its Data an *elementwiseProgram, which executeNode runs (see
// gobackend.NodeDataExecutor). Each step computes the same float32 operation as the node it
// replaces (the same SIMD kernels), so the results are bit-identical.

func init() {
	gobackend.RegisterTransformation(10, &ElementwiseFusion{})
}

// elementwiseBlock is the number of values each program step processes at a time.
const elementwiseBlock = 512

// elementwiseMaxSteps bounds the number of nodes fused into one program.
const elementwiseMaxSteps = 32

// elementwiseStep is one fused node: out = op(a, b) (b unused for unary ops). Operands
// are temporaries (slot index ≥ 0) or leaves (-1 - leaf index).
type elementwiseStep struct {
	op        compute.OpType
	a, b, out int
}

// elementwiseProgram is the Data of a fused root node.
type elementwiseProgram struct {
	steps    []elementwiseStep
	numSlots int
	scalar   []bool // per leaf: a single value broadcast to every element.
}

// ElementwiseFusion is the graph transformation that fuses element-wise chains.
type ElementwiseFusion struct{}

// Name implements gobackend.GraphTransformation.
func (p *ElementwiseFusion) Name() string { return "ElementwiseFusion" }

func elementwiseFusible(n *gobackend.Node) bool {
	if n.Shape.DType != dtypes.Float32 || n.Shape.IsDynamic() || n.Shape.Size() <= 1 || n.Data != nil ||
		n.IsMultiOutputs() || len(n.CapturedInputs) > 0 {
		return false
	}
	switch n.OpType { //nolint:exhaustive
	case compute.OpTypeAdd, compute.OpTypeSub, compute.OpTypeMul, compute.OpTypeDiv:
		for _, in := range n.Inputs {
			if !in.Shape.Equal(n.Shape) && !(in.Shape.Rank() == 0 && in.Shape.DType == dtypes.Float32) {
				return false
			}
		}
		return len(n.Inputs) == 2
	case compute.OpTypeNeg, compute.OpTypeTanh, compute.OpTypeExp:
		return len(n.Inputs) == 1 && n.Inputs[0].Shape.Equal(n.Shape)
	}
	return false
}

// Apply implements gobackend.GraphTransformation.
func (p *ElementwiseFusion) Apply(b *gobackend.Builder) (bool, error) {
	// Uses of each node anywhere (inputs, captured inputs, outputs, captures by closures).
	uses := make(map[*gobackend.Node]int)
	for _, f := range b.Functions {
		for _, n := range f.Nodes {
			for _, in := range n.Inputs {
				uses[in]++
			}
			for _, captures := range n.CapturedInputs {
				for _, in := range captures {
					uses[in]++
				}
			}
		}
		for _, out := range f.Outputs {
			uses[out] += 2 // Never absorbed.
		}
		for _, n := range f.CapturedParentNodes {
			uses[n] += 2
		}
	}
	for _, f := range b.Functions {
		absorbed := make(map[*gobackend.Node]bool)
		for i := len(f.Nodes) - 1; i >= 0; i-- {
			root := f.Nodes[i]
			if absorbed[root] || !elementwiseFusible(root) {
				continue
			}
			// Build the tree's program; then also absorb the nodes used several times
			// whose uses are all inside the group (e.g. x² feeding two branches), and
			// rebuild, until nothing changes.
			var (
				prog   elementwiseProgram
				leaves []*gobackend.Node
				group  []*gobackend.Node
			)
			shared := make(map[*gobackend.Node]bool)
			for range 8 {
				prog, leaves, group = elementwiseProgram{}, nil, nil
				stepOf := make(map[*gobackend.Node]int)
				var visit func(n *gobackend.Node, isRoot bool) int
				visit = func(n *gobackend.Node, isRoot bool) int {
					if step, ok := stepOf[n]; ok {
						return step
					}
					if !isRoot && ((uses[n] != 1 && !shared[n]) || absorbed[n] || !n.Shape.Equal(root.Shape) ||
						len(prog.steps) >= elementwiseMaxSteps || !elementwiseFusible(n)) {
						for l, leaf := range leaves {
							if leaf == n {
								return -1 - l
							}
						}
						leaves = append(leaves, n)
						prog.scalar = append(prog.scalar, n.Shape.Rank() == 0)
						return -len(leaves)
					}
					step := elementwiseStep{op: n.OpType, a: visit(n.Inputs[0], false)}
					if len(n.Inputs) == 2 {
						step.b = visit(n.Inputs[1], false)
					}
					step.out = len(prog.steps)
					stepOf[n] = step.out
					prog.steps = append(prog.steps, step)
					group = append(group, n)
					return step.out
				}
				visit(root, true)
				refs := make(map[*gobackend.Node]int)
				for _, n := range group {
					for _, in := range n.Inputs {
						refs[in]++
					}
				}
				changed := false
				for _, leaf := range leaves {
					if !shared[leaf] && uses[leaf] > 1 && refs[leaf] == uses[leaf] && !absorbed[leaf] &&
						leaf.Shape.Equal(root.Shape) && elementwiseFusible(leaf) {
						shared[leaf] = true
						changed = true
					}
				}
				if !changed {
					break
				}
			}
			if len(prog.steps) < 2 {
				continue
			}
			prog.allocateSlots()
			for _, n := range group {
				absorbed[n] = true
			}
			root.Inputs = leaves
			root.Data = &prog
		}
	}
	return false, nil
}

// allocateSlots reuses temporary slots after their last use (steps are in evaluation order;
// until then each step's out, and a temporary operand, is the index of the step computing it).
func (prog *elementwiseProgram) allocateSlots() {
	operands := func(s elementwiseStep) []int {
		if elementwiseUnary(s.op) {
			return []int{s.a}
		}
		return []int{s.a, s.b}
	}
	lastUse := make([]int, len(prog.steps))
	for i, s := range prog.steps {
		lastUse[i] = i
		for _, o := range operands(s) {
			if o >= 0 {
				lastUse[o] = i
			}
		}
	}
	slot := make([]int, len(prog.steps))
	freed := make([]bool, len(prog.steps))
	var free []int
	for i := range prog.steps {
		s := &prog.steps[i]
		// Free the operands last used here before allocating this step's output: the kernels
		// are element-wise, so the output may overwrite an operand.
		for _, o := range operands(*s) {
			if o >= 0 && lastUse[o] == i && !freed[o] {
				freed[o] = true
				free = append(free, slot[o])
			}
		}
		if s.a >= 0 {
			s.a = slot[s.a]
		}
		if !elementwiseUnary(s.op) && s.b >= 0 {
			s.b = slot[s.b]
		}
		if len(free) > 0 {
			slot[i] = free[len(free)-1]
			free = free[:len(free)-1]
		} else {
			slot[i] = prog.numSlots
			prog.numSlots++
		}
		s.out = slot[i]
	}
}

func elementwiseUnary(op compute.OpType) bool {
	return op == compute.OpTypeNeg || op == compute.OpTypeTanh || op == compute.OpTypeExp
}

// ExecuteNode implements gobackend.NodeDataExecutor.
func (prog *elementwiseProgram) ExecuteNode(backend *gobackend.Backend, node *gobackend.Node,
	inputs []*gobackend.Buffer, inputsOwned []bool) (*gobackend.Buffer, error) {
	var output *gobackend.Buffer
	for i, in := range inputs {
		if inputsOwned[i] && !prog.scalar[i] {
			output = in
			inputs[i] = nil
			break
		}
	}
	if output == nil {
		var err error
		if output, err = backend.GetBuffer(node.Shape); err != nil {
			return nil, err
		}
	}
	out := output.Flat.([]float32)[:node.Shape.Size()]
	leaves := make([][]float32, len(inputs))
	scalars := make([]float32, len(inputs))
	for i, in := range inputs {
		if in == nil { // Reused as the output.
			leaves[i] = out
			continue
		}
		leaves[i] = in.Flat.([]float32)
		if prog.scalar[i] {
			scalars[i] = leaves[i][0]
		}
	}
	last := len(prog.steps) - 1
	// Large nodes are split across the worker pool (each chunk with its own temporaries).
	backend.ParallelChunks(len(out), elementwiseParallelChunk, elementwiseBlock, func(lo, hi int) {
		prog.run(out, leaves, scalars, lo, hi, last)
	})
	return output, nil
}

// elementwiseParallelChunk is the minimum number of values per parallel chunk.
const elementwiseParallelChunk = 64 * 1024

// run evaluates the program on out[lo:hi], block by block.
func (prog *elementwiseProgram) run(out []float32, leaves [][]float32, scalars []float32, lo, hi, last int) {
	slots := make([]float32, prog.numSlots*elementwiseBlock)
	for start := lo; start < hi; start += elementwiseBlock {
		end := min(start+elementwiseBlock, hi)
		n := end - start
		operand := func(o int) (vec []float32, scalar float32, isScalar bool) {
			if o >= 0 {
				return slots[o*elementwiseBlock : o*elementwiseBlock+n], 0, false
			}
			l := -1 - o
			if prog.scalar[l] {
				return nil, scalars[l], true
			}
			return leaves[l][start:end], 0, false
		}
		for i, s := range prog.steps {
			dst := out[start:end]
			if i != last {
				dst = slots[s.out*elementwiseBlock : s.out*elementwiseBlock+n]
			}
			a, as, aScalar := operand(s.a)
			switch s.op { //nolint:exhaustive
			case compute.OpTypeNeg:
				for j, v := range a {
					dst[j] = -v
				}
			case compute.OpTypeTanh:
				fastmath.TanhFloat32s(dst, a)
			case compute.OpTypeExp:
				fastmath.ExpFloat32s(dst, a)
			default:
				b, bs, bScalar := operand(s.b)
				k := &float32Kernels[elementwiseKernelIndex(s.op)]
				switch {
				case aScalar:
					k.sv(dst, as, b)
				case bScalar:
					k.vs(dst, a, bs)
				default:
					k.vv(dst, a, b)
				}
			}
		}
	}
}

func elementwiseKernelIndex(op compute.OpType) binaryFloat32Op {
	switch op { //nolint:exhaustive
	case compute.OpTypeAdd:
		return binaryFloat32Add
	case compute.OpTypeSub:
		return binaryFloat32Sub
	case compute.OpTypeMul:
		return binaryFloat32Mul
	default:
		return binaryFloat32Div
	}
}
