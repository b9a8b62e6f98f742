package week1

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons/exercise"
)

// refMask is BERT's masking as llm's trainer does it.
func refMask(ids []int, spec MLMSpec, r *rand.Rand) ([]int, []int) {
	input := slices.Clone(ids)
	labels := make([]int, len(ids))
	for i, id := range ids {
		labels[i] = IgnoreLabel
		if slices.Contains(spec.Special, id) || r.Float64() >= MLMRate {
			continue
		}
		labels[i] = id
		switch u := r.Float64(); {
		case u < MLMMaskOf:
			input[i] = spec.MaskID
		case u < MLMMaskOf+MLMRandOf:
			input[i] = r.IntN(spec.VocabSize)
		}
	}
	return input, labels
}

func TestCheckMLMMasking(t *testing.T) {
	if r := CheckMLMMasking(refMask); !r.Passed() {
		t.Fatalf("reference rejected:\n%s", r)
	}
	if r := CheckMLMMasking(func([]int, MLMSpec, *rand.Rand) ([]int, []int) { return nil, nil }); r.Status != exercise.NotDone || r.Hint == "" {
		t.Errorf("stub: %v\n%s", r.Status, r)
	}
	wrong := map[string]func(ids []int, spec MLMSpec, r *rand.Rand) ([]int, []int){
		"80/10/10": func(ids []int, spec MLMSpec, r *rand.Rand) ([]int, []int) { // all [MASK]
			in, lab := refMask(ids, spec, r)
			for i := range in {
				if lab[i] != IgnoreLabel {
					in[i] = spec.MaskID
				}
			}
			return in, lab
		},
		"never mask specials": func(ids []int, spec MLMSpec, r *rand.Rand) ([]int, []int) { // specials too
			return refMask(ids, MLMSpec{VocabSize: spec.VocabSize, MaskID: spec.MaskID, Special: []int{-1}}, r)
		},
		"probability 0.15": func(ids []int, spec MLMSpec, r *rand.Rand) ([]int, []int) { // every token
			in, lab := slices.Clone(ids), make([]int, len(ids))
			for i, id := range ids {
				lab[i] = IgnoreLabel
				if !slices.Contains(spec.Special, id) {
					lab[i], in[i] = id, spec.MaskID
					if u := r.Float64(); u >= 0.8 && u < 0.9 {
						in[i] = r.IntN(spec.VocabSize)
					} else if u >= 0.9 {
						in[i] = id
					}
				}
			}
			return in, lab
		},
		"copy ids first": func(ids []int, spec MLMSpec, r *rand.Rand) ([]int, []int) {
			in, lab := refMask(ids, spec, r)
			copy(ids, in)
			return ids, lab
		},
	}
	for hint, f := range wrong {
		r := CheckMLMMasking(f)
		if r.Passed() || !strings.Contains(r.Hint, hint) {
			t.Errorf("%s: passed %v hint %q\n%s", hint, r.Passed(), r.Hint, r)
		}
	}
}
