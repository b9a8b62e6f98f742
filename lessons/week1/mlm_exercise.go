package week1

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/divellm/divellm/lessons/exercise"
)

// IgnoreLabel is the label of positions that do not count in the loss (PyTorch's and
// Hugging Face's -100).
const IgnoreLabel = -100

// MLMSpec is what masking needs to know about a vocabulary.
type MLMSpec struct {
	VocabSize int
	MaskID    int
	Special   []int // ids that are never chosen: [CLS], [SEP], [PAD], …
}

// The rates of BERT's masking.
const (
	MLMRate    = 0.15 // fraction of the non-special tokens chosen for prediction
	MLMMaskOf  = 0.8  // of those: replaced by [MASK]
	MLMRandOf  = 0.1  // replaced by a random token
	MLMKeepOf  = 0.1  // left unchanged
	mlmSeqLen  = 64
	mlmSeqs    = 1500
	mlmRateTol = 0.01
	mlmMixTol  = 0.02
)

// mlmStats summarises many masked sequences.
type mlmStats struct {
	tokens, chosen, masked, random, kept, distinctRandom int
	problem                                              string // the first rule broken, "" if none
	kind                                                 string // names the mistake for the hint
}

// measureMLM runs f on seeded random sequences framed by [CLS] … [SEP] and padded, and
// checks the rules on every position.
func measureMLM(f func(ids []int, spec MLMSpec, r *rand.Rand) (input, labels []int), spec MLMSpec, seed uint64) (st mlmStats, empty bool, err error) {
	gen := rand.New(rand.NewPCG(seed, 1))
	r := rand.New(rand.NewPCG(seed, 2))
	special := map[int]bool{}
	for _, id := range spec.Special {
		special[id] = true
	}
	cls, sep, pad := spec.Special[0], spec.Special[1], spec.Special[2]
	randomIDs := map[int]bool{}
	allEmpty := true
	for s := range mlmSeqs {
		n := 8 + gen.IntN(mlmSeqLen-8)
		ids := []int{cls}
		for len(ids) < n-1 {
			id := gen.IntN(spec.VocabSize)
			if !special[id] && id != spec.MaskID {
				ids = append(ids, id)
			}
		}
		ids = append(ids, sep)
		for len(ids) < mlmSeqLen && s%2 == 0 {
			ids = append(ids, pad)
		}
		orig := append([]int(nil), ids...)
		var input, labels []int
		if err := exercise.Protect(func() { input, labels = f(ids, spec, r) }); err != nil {
			return st, false, err
		}
		if input == nil && labels == nil {
			continue
		}
		allEmpty = false
		if len(input) != len(orig) || len(labels) != len(orig) {
			st.problem = fmt.Sprintf("输入有 %d 个 token，返回的 input %d 个、labels %d 个：长度应相同 (same length)", len(orig), len(input), len(labels))
			return st, false, nil
		}
		for i, id := range ids {
			if id != orig[i] {
				st.problem, st.kind = "ids 被修改了 (the input slice was modified)：请返回新的切片", "in-place"
				return st, false, nil
			}
		}
		for i, id := range orig {
			switch {
			case special[id] && (labels[i] != IgnoreLabel || input[i] != id):
				st.problem = fmt.Sprintf("位置 %d 是特殊 token %d：它永远不该被选中 (never mask specials)，label 应为 %d、input 不变", i, id, IgnoreLabel)
				st.kind = "specials"
				return st, false, nil
			case labels[i] != IgnoreLabel && labels[i] != id:
				st.problem = fmt.Sprintf("位置 %d 的 label 是 %d，应为原来的 token %d 或 %d (label = the original token)", i, labels[i], id, IgnoreLabel)
				return st, false, nil
			case labels[i] == IgnoreLabel && input[i] != id:
				st.problem = fmt.Sprintf("位置 %d 没被选中 (label %d)，input 却从 %d 变成了 %d：没选中的 token 要保持原样", i, IgnoreLabel, id, input[i])
				st.kind = "unlabelled-change"
				return st, false, nil
			case input[i] < 0 || input[i] >= spec.VocabSize:
				st.problem = fmt.Sprintf("位置 %d 的 input %d 不在词表 [0, %d) 里", i, input[i], spec.VocabSize)
				return st, false, nil
			}
			if special[id] {
				continue
			}
			st.tokens++
			if labels[i] == IgnoreLabel {
				continue
			}
			st.chosen++
			switch {
			case input[i] == spec.MaskID:
				st.masked++
			case input[i] == id:
				st.kept++
			default:
				st.random++
				randomIDs[input[i]] = true
			}
		}
	}
	st.distinctRandom = len(randomIDs)
	return st, allEmpty, nil
}

// CheckMLMMasking checks a learner's BERT masking
//
//	input, labels := f(ids, spec, r)
//
// on 1,500 random sequences of [CLS] … [SEP] (half of them padded with [PAD]): specials
// are never chosen; every other token is chosen with probability 15%; a chosen token's
// label is its original id and its input is [MASK] 80% of the time, a random token 10%
// and itself 10%; an unchosen token keeps its input and gets label −100. The rates are
// checked within ±1% (chosen) and ±2% (the 80/10/10 split): several standard deviations of
// the binomial noise at this size, so a correct answer passes for any seed.
func CheckMLMMasking(f func(ids []int, spec MLMSpec, r *rand.Rand) (input, labels []int)) exercise.Result {
	spec := MLMSpec{VocabSize: 1000, MaskID: 4, Special: []int{2, 3, 0, 1}} // [CLS] [SEP] [PAD] [UNK]
	st, empty, err := measureMLM(f, spec, 7)
	var cases []exercise.Case
	add := func(name string, ok bool, detail string) {
		c := exercise.Case{Name: name, Passed: ok, Empty: empty}
		if !ok {
			c.Detail = detail
		}
		cases = append(cases, c)
	}
	if err != nil {
		add("运行 (runs)", false, err.Error())
		return exercise.Grade("MLM masking", cases, "你的函数 panic 了，看上面的错误。", "")
	}
	if empty {
		for _, n := range []string{"规则 (rules)", "15% 被选中", "80% [MASK]", "10% 随机", "10% 不变"} {
			add(n, false, "返回了 nil (returned nil)")
		}
		return exercise.Grade("MLM masking", cases, "", "对每个非特殊 token，以 15% 的概率选中；选中的：label = 原 token，input 80% 换成 [MASK]、10% 换成随机 token、10% 不变；没选中的 label = -100。")
	}
	add("规则：特殊 token 不选、label 与 input 一致 (rules)", st.problem == "", st.problem)
	frac := func(a, b int) float64 {
		if b == 0 {
			return math.NaN()
		}
		return float64(a) / float64(b)
	}
	within := func(x, want, tol float64) bool { return math.Abs(x-want) <= tol }
	chosen, masked, random, kept := frac(st.chosen, st.tokens), frac(st.masked, st.chosen), frac(st.random, st.chosen), frac(st.kept, st.chosen)
	add(fmt.Sprintf("选中比例 (chosen) %.3f ≈ 0.15 ± %.2f", chosen, mlmRateTol), within(chosen, MLMRate, mlmRateTol),
		fmt.Sprintf("%d 个普通 token 里选中了 %d 个 = %.3f", st.tokens, st.chosen, chosen))
	add(fmt.Sprintf("其中换成 [MASK] (masked) %.3f ≈ 0.80 ± %.2f", masked, mlmMixTol), within(masked, MLMMaskOf, mlmMixTol), fmt.Sprintf("%.3f", masked))
	add(fmt.Sprintf("其中换成随机 token (random) %.3f ≈ 0.10 ± %.2f", random, mlmMixTol), within(random, MLMRandOf, mlmMixTol) && st.distinctRandom > 100,
		fmt.Sprintf("%.3f，用到了 %d 个不同的随机 token", random, st.distinctRandom))
	add(fmt.Sprintf("其中保持不变 (kept) %.3f ≈ 0.10 ± %.2f", kept, mlmMixTol), within(kept, MLMKeepOf, mlmMixTol), fmt.Sprintf("%.3f", kept))
	hint := "先对每个非特殊 token 掷一次骰子决定是否选中 (15%)，再对选中的掷第二次决定 80/10/10。"
	switch {
	case st.kind == "specials":
		hint = "[CLS]、[SEP]、[PAD] 这些特殊 token 不参与 (never mask specials)：它们的 label 是 -100，input 不变。"
	case st.kind == "unlabelled-change":
		hint = "只改被选中的位置；没选中的位置 label = -100，input 保持原样。"
	case st.kind == "in-place":
		hint = "先复制一份 ids 再改 (copy ids first)：调用者还要用原来的序列。"
	case st.problem == "" && within(masked, 1, mlmMixTol):
		hint = "选中的 token 全都换成了 [MASK]：还要 10% 换成随机 token、10% 不变 (80/10/10)，否则模型只在看到 [MASK] 时才学着预测。"
	case st.problem == "" && within(chosen, 1, 0.05):
		hint = "几乎每个 token 都被选中了：每个 token 只有 15% 的概率被选中 (each token with probability 0.15)。"
	}
	return exercise.Grade("MLM masking", cases, hint, "")
}
