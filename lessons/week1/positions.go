package week1

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/divellm/divellm/lessons/exercise"
	"github.com/divellm/divellm/viz"
)

// PermutationResult shows that attention alone ignores word order: the same random head
// run on a sentence and on its tokens shuffled gives every token the same output vector in
// both orders unless a positional encoding is added to the inputs.
type PermutationResult struct {
	Sentence, Shuffled string
	Perm               []int   // the shuffled sentence's token i is the original's token Perm[i]
	NoPE, WithPE       float64 // max over tokens and features of |out_shuffled − out_original| for the same token
	Token              string  // the token whose output is shown
	NoPEOut            [2][]float64
	WithPEOut          [2][]float64 // that token's output vector: [original order, shuffled]
}

// PermutationTest runs [StepThrough]'s random head (dHead 4) on sentence and on its
// characters shuffled by a seeded permutation, without and with the sinusoidal positional
// encoding, and compares each token's output vector across the two orders. Without
// positions the outputs are the same numbers in another order (the difference is 0 up to
// rounding); with positions they differ. token is the character whose vectors are kept.
func PermutationTest(sentence, token string, seed uint64) (*PermutationResult, error) {
	toks := chars(sentence)
	if len(toks) < 2 {
		return nil, fmt.Errorf("permutation test: need at least two characters")
	}
	r := rand.New(rand.NewPCG(seed, 0x9e37))
	perm := r.Perm(len(toks))
	for same := true; same; { // a shuffle that moves something
		same = true
		for i, p := range perm {
			same = same && i == p
		}
		if same {
			perm = r.Perm(len(toks))
		}
	}
	shuffled := make([]string, len(toks))
	for i, p := range perm {
		shuffled[i] = toks[p]
	}
	res := &PermutationResult{Sentence: sentence, Shuffled: strings.Join(shuffled, ""), Perm: perm, Token: token}
	at, inShuffled := strings.Index(sentence, token), -1
	if at < 0 || len([]rune(token)) != 1 {
		return nil, fmt.Errorf("permutation test: %q is not one character of %q", token, sentence)
	}
	orig := len([]rune(sentence[:at]))
	for i, p := range perm {
		if p == orig {
			inShuffled = i
		}
	}
	for _, withPE := range []bool{false, true} {
		a, err := stepThrough(toks, 4, 1, withPE)
		if err != nil {
			return nil, err
		}
		b, err := stepThrough(shuffled, 4, 1, withPE)
		if err != nil {
			return nil, err
		}
		d := 0.0
		for i, p := range perm {
			for j := range b.Steps.Out[i] {
				d = math.Max(d, math.Abs(b.Steps.Out[i][j]-a.Steps.Out[p][j]))
			}
		}
		pair := [2][]float64{a.Steps.Out[orig], b.Steps.Out[inShuffled]}
		if withPE {
			res.WithPE, res.WithPEOut = d, pair
		} else {
			res.NoPE, res.NoPEOut = d, pair
		}
	}
	return res, nil
}

// Table compares the token's output vector in the two orders, without and with positions.
func (r *PermutationResult) Table() (headers []string, rows [][]string) {
	vec := func(v []float64) string {
		var parts []string
		for _, x := range v {
			parts = append(parts, fmt.Sprintf("%+.3f", x))
		}
		return strings.Join(parts, " ")
	}
	rows = [][]string{
		{"没有位置编码 (no positions)", vec(r.NoPEOut[0]), vec(r.NoPEOut[1]), fmt.Sprintf("%.1e", r.NoPE)},
		{"加上正弦位置编码 (sinusoidal PE)", vec(r.WithPEOut[0]), vec(r.WithPEOut[1]), fmt.Sprintf("%.1e", r.WithPE)},
	}
	return []string{"输入 (input)", fmt.Sprintf("“%s”的输出：%s", r.Token, r.Sentence), fmt.Sprintf("“%s”的输出：%s", r.Token, r.Shuffled), "所有 token 的最大差 (max |diff|)"}, rows
}

// PositionalEncodingView draws the sinusoidal encoding of n positions × m dimensions as a
// heatmap: low dimensions oscillate fast along the positions, high dimensions slowly.
func PositionalEncodingView(n, m int) *viz.Chart {
	pe := PositionalEncoding(n, m)
	rows, cols := make([]string, n), make([]string, m)
	for i := range rows {
		rows[i] = fmt.Sprintf("pos %d", i)
	}
	for j := range cols {
		cols[j] = fmt.Sprintf("%d", j)
	}
	return viz.Heatmap(rows, cols, pe).Title(fmt.Sprintf("正弦位置编码 (sinusoidal PE)：%d 个位置 × %d 维，行是位置，列是维度", n, m))
}

// CosineMatrix returns the cosine similarity of every pair of rows of x.
func CosineMatrix(x [][]float64) [][]float64 {
	norms := make([]float64, len(x))
	for i, r := range x {
		for _, v := range r {
			norms[i] += v * v
		}
		norms[i] = math.Sqrt(norms[i])
	}
	out := make([][]float64, len(x))
	for i := range x {
		out[i] = make([]float64, len(x))
		for j := range x {
			dot := 0.0
			for k := range x[i] {
				dot += x[i][k] * x[j][k]
			}
			if norms[i] > 0 && norms[j] > 0 {
				out[i][j] = dot / (norms[i] * norms[j])
			}
		}
	}
	return out
}

// PositionSimilarityView draws the cosine similarity between position vectors (learned
// position embeddings, or the sinusoidal encoding) as a heatmap: a bright diagonal band
// means nearby positions get similar vectors.
func PositionSimilarityView(title string, pos [][]float64) *viz.Chart {
	sim := CosineMatrix(pos)
	labels := make([]string, len(sim))
	for i := range labels {
		labels[i] = fmt.Sprint(i)
	}
	return viz.Heatmap(labels, labels, sim).Title(title)
}

// NeighbourSimilarity is the mean cosine similarity of position vectors that are `gap`
// positions apart: it falls with the gap when positions are encoded smoothly.
func NeighbourSimilarity(pos [][]float64, gap int) float64 {
	sim := CosineMatrix(pos)
	s, n := 0.0, 0
	for i := 0; i+gap < len(sim); i++ {
		s += sim[i][i+gap]
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// peVariant computes common wrong versions of the sinusoidal encoding, to name a
// learner's mistake.
func peVariant(n, d int, kind string) [][]float64 {
	pe := make([][]float64, n)
	for pos := range pe {
		pe[pos] = make([]float64, d)
		for i := 0; i < d; i += 2 {
			p := float64(pos)
			expo := float64(i) / float64(d)
			switch kind {
			case "half-rate": // exponent i/d with i counting pairs (2i/d forgotten)
				expo = float64(i/2) / float64(d)
			case "from-1":
				p++
			}
			angle := p / math.Pow(10000, expo)
			a, b := math.Sin(angle), math.Cos(angle)
			if kind == "swapped" {
				a, b = b, a
			}
			pe[pos][i] = a
			if i+1 < d {
				pe[pos][i+1] = b
			}
		}
	}
	return pe
}

// CheckPositionalEncoding checks a learner's sinusoidal positional encoding
//
//	PE(pos, 2i) = sin(pos / 10000^(2i/d)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d))
//
// against [PositionalEncoding] for several sizes, and names the usual mistakes: sin and
// cos swapped, an exponent of i/d for the pair index i (the frequencies fall twice as
// slowly), positions counted from 1.
func CheckPositionalEncoding(f func(n, d int) [][]float64) exercise.Result {
	var out []exercise.Case
	var mistakes []string
	for _, c := range []struct{ n, d int }{{1, 2}, {4, 4}, {10, 8}, {50, 16}, {64, 6}} {
		cr, mistake := matrixCase(fmt.Sprintf("%d 个位置 × %d 维 (n=%d, d=%d)", c.n, c.d, c.n, c.d), PositionalEncoding(c.n, c.d),
			func() [][]float64 { return f(c.n, c.d) },
			func(kind string) [][]float64 { return peVariant(c.n, c.d, kind) }, "swapped", "half-rate", "from-1")
		out = append(out, cr)
		if mistake != "" {
			mistakes = append(mistakes, mistake)
		}
	}
	hint := "对每个位置 pos 和每一对维度 (2i, 2i+1)：角度 = pos / 10000^(2i/d)，偶数维放 sin，奇数维放 cos。"
	if len(mistakes) > 0 {
		hint = map[string]string{
			"swapped":   "sin 和 cos 放反了 (sin and cos swapped)：偶数维 2i 是 sin，奇数维 2i+1 是 cos。",
			"half-rate": "指数应是 2i/d（2i 是偶数维的下标），你用的是 i/d：频率下降慢了一倍 (exponent 2i/d, not i/d)。",
			"from-1":    "位置从 0 开始 (positions start at 0)：PE(0, ·) = [0 1 0 1 …]。",
		}[mistakes[0]]
	}
	return exercise.Grade("sinusoidal positional encoding", out, hint,
		"返回 n×d 的矩阵：PE[pos][2i] = sin(pos / 10000^(2i/d))，PE[pos][2i+1] = cos(同一个角度)。")
}
