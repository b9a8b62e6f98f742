package quant

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/divellm/divellm/llm/safetensors"
)

// Quantized weights are stored in an ordinary safetensors file, readable by any
// safetensors reader. For a weight named X ([rows, cols], e.g. "h.0.mlp.c_fc.weight"):
//
//	X.qweight  I8 [rows, cols]          symmetric 8-bit: the signed value code − 128
//	           U8 [rows, cols]          asymmetric 8-bit: the code
//	           U8 [rows, (cols+1)/2]    4-bit: two codes per byte, even column in the low nibble
//	X.scales   F32 [rows, groups]       ([1, 1] per tensor; groups = 1 per channel)
//	X.zeros    U8  [rows, groups]       zero points (128 or 8 for symmetric schemes)
//
// and in the header's __metadata__ (all strings):
//
//	"format": "divellm-quant", "quant_version": "1"
//	"X.bits": "8" | "4"      "X.scheme": "sym" | "asym"     "X.cols": cols
//	"X.granularity": "channel" | "tensor" | "group"          "X.group_size": "32" (0 if none)
//	"X.clipping": "absmax" | "p99.9"
//
// Element (r, c) = scales[r, c/group]·(code − zeros[r, c/group]). Other tensors (biases,
// LayerNorm, embeddings) can be stored beside them as plain float tensors.

// FormatName is the value of the "format" metadata key of quantized files.
const FormatName = "divellm-quant"

// Save writes quantized weights (keyed by name X) and optional plain tensors to a
// safetensors file at path. meta adds free-form metadata (keys must not clash).
func Save(path string, weights map[string]*Tensor, plain []safetensors.Tensor, meta map[string]string) error {
	md := map[string]string{"format": FormatName, "quant_version": "1"}
	for k, v := range meta {
		md[k] = v
	}
	names := make([]string, 0, len(weights))
	for n := range weights {
		names = append(names, n)
	}
	sort.Strings(names)
	var ts []safetensors.Tensor
	for _, n := range names {
		t := weights[n]
		if err := t.check(); err != nil {
			return fmt.Errorf("quant: save %s: weight %q: %w", path, n, err)
		}
		s := t.Scheme
		switch {
		case s.Bits == 8 && !s.Asymmetric:
			q := make([]int8, len(t.Data))
			for i, c := range t.Data {
				q[i] = int8(int(c) - 128)
			}
			ts = append(ts, safetensors.FromInt8(n+".qweight", []int{t.Rows, t.Cols}, q))
		default:
			ts = append(ts, safetensors.FromUint8(n+".qweight", []int{t.Rows, t.RowBytes()}, t.Data))
		}
		gshape := []int{t.Rows, t.GroupsPerRow()}
		if s.Granularity == PerTensor {
			gshape = []int{1, 1}
		}
		ts = append(ts, safetensors.FromFloat32(n+".scales", gshape, t.Scales),
			safetensors.FromUint8(n+".zeros", gshape, t.Zeros))
		sym := "sym"
		if s.Asymmetric {
			sym = "asym"
		}
		clip := "absmax"
		if s.Clipping == Percentile {
			clip = "p" + strconv.FormatFloat(s.Percentile, 'g', -1, 64)
		}
		for k, v := range map[string]string{
			"bits": strconv.Itoa(s.Bits), "scheme": sym, "cols": strconv.Itoa(t.Cols),
			"granularity": s.Granularity.String(), "group_size": strconv.Itoa(s.GroupSize), "clipping": clip,
		} {
			md[n+"."+k] = v
		}
	}
	ts = append(ts, plain...)
	if err := safetensors.Write(path, ts, md); err != nil {
		return fmt.Errorf("quant: save %s: %w", path, err)
	}
	return nil
}

// Checkpoint is the content of a quantized safetensors file.
type Checkpoint struct {
	Weights  map[string]*Tensor             // quantized weights by name X
	Plain    map[string]*safetensors.Tensor // every other tensor, by its name
	Metadata map[string]string
}

// Load reads a file written by [Save] and validates every quantized weight: dtypes, shapes,
// metadata, finite positive scales and zero points in range. Any inconsistency, as from a
// truncated or corrupted file, is an error naming the file and the weight.
func Load(path string) (*Checkpoint, error) {
	all, md, err := safetensors.ReadAll(path)
	if err != nil {
		return nil, fmt.Errorf("quant: load %s: %w", path, err)
	}
	if md["format"] != FormatName {
		return nil, fmt.Errorf("quant: load %s: metadata format is %q, want %q (not a quantized checkpoint?)", path, md["format"], FormatName)
	}
	ck := &Checkpoint{Weights: map[string]*Tensor{}, Plain: map[string]*safetensors.Tensor{}, Metadata: md}
	used := map[string]bool{}
	for name := range all {
		base, ok := strings.CutSuffix(name, ".qweight")
		if !ok {
			continue
		}
		t, err := loadWeight(base, all, md)
		if err != nil {
			return nil, fmt.Errorf("quant: load %s: weight %q: %w", path, base, err)
		}
		ck.Weights[base] = t
		used[name], used[base+".scales"], used[base+".zeros"] = true, true, true
	}
	for name, t := range all {
		if !used[name] {
			ck.Plain[name] = t
		}
	}
	return ck, nil
}

func loadWeight(base string, all map[string]*safetensors.Tensor, md map[string]string) (*Tensor, error) {
	num := func(key string) (int, error) {
		v, ok := md[base+"."+key]
		if !ok {
			return 0, fmt.Errorf("metadata %q missing", base+"."+key)
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("metadata %q = %q is not an integer", base+"."+key, v)
		}
		return n, nil
	}
	var s Scheme
	var err error
	if s.Bits, err = num("bits"); err != nil {
		return nil, err
	}
	cols, err := num("cols")
	if err != nil {
		return nil, err
	}
	if s.GroupSize, err = num("group_size"); err != nil {
		return nil, err
	}
	switch md[base+".scheme"] {
	case "sym":
	case "asym":
		s.Asymmetric = true
	default:
		return nil, fmt.Errorf("metadata scheme %q, want sym or asym", md[base+".scheme"])
	}
	switch md[base+".granularity"] {
	case "channel":
		s.Granularity = PerChannel
	case "tensor":
		s.Granularity = PerTensor
	case "group":
		s.Granularity = PerGroup
	default:
		return nil, fmt.Errorf("metadata granularity %q, want channel, tensor or group", md[base+".granularity"])
	}
	if c := md[base+".clipping"]; c != "absmax" {
		p, ok := strings.CutPrefix(c, "p")
		v, err := strconv.ParseFloat(p, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("metadata clipping %q, want absmax or pNN", c)
		}
		s.Clipping, s.Percentile = Percentile, v
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	get := func(suffix string, dt safetensors.DType) (*safetensors.Tensor, error) {
		t, ok := all[base+suffix]
		if !ok {
			return nil, fmt.Errorf("tensor %q missing", base+suffix)
		}
		if t.DType != dt {
			return nil, fmt.Errorf("tensor %q has dtype %s, want %s", base+suffix, t.DType, dt)
		}
		if len(t.Shape) != 2 {
			return nil, fmt.Errorf("tensor %q has shape %v, want 2 dimensions", base+suffix, t.Shape)
		}
		return t, nil
	}
	qdt := safetensors.U8
	if s.Bits == 8 && !s.Asymmetric {
		qdt = safetensors.I8
	}
	qw, err := get(".qweight", qdt)
	if err != nil {
		return nil, err
	}
	t := &Tensor{Rows: qw.Shape[0], Cols: cols, Scheme: s}
	if cols <= 0 || qw.Shape[1] != t.RowBytes() {
		return nil, fmt.Errorf("qweight shape %v does not match %d columns at %d bits", qw.Shape, cols, s.Bits)
	}
	if qdt == safetensors.I8 {
		q, err := qw.Int8s()
		if err != nil {
			return nil, err
		}
		t.Data = make([]byte, len(q))
		for i, v := range q {
			if v == -128 {
				return nil, fmt.Errorf("qweight element %d is −128, outside the symmetric range", i)
			}
			t.Data[i] = uint8(int(v) + 128)
		}
	} else if t.Data, err = qw.Uint8s(); err != nil {
		return nil, err
	}
	sc, err := get(".scales", safetensors.F32)
	if err != nil {
		return nil, err
	}
	if t.Scales, err = sc.Float32s(); err != nil {
		return nil, err
	}
	ze, err := get(".zeros", safetensors.U8)
	if err != nil {
		return nil, err
	}
	if t.Zeros, err = ze.Uint8s(); err != nil {
		return nil, err
	}
	want := []int{t.Rows, t.GroupsPerRow()}
	if s.Granularity == PerTensor {
		want = []int{1, 1}
	}
	for _, g := range []*safetensors.Tensor{sc, ze} {
		if g.Shape[0] != want[0] || g.Shape[1] != want[1] {
			return nil, fmt.Errorf("tensor %q has shape %v, want %v", g.Name, g.Shape, want)
		}
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return t, nil
}
