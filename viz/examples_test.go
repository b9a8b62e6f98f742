package viz

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// chineseTokens returns a Chinese sentence of n characters, one token per character, with
// [CLS]/[SEP] around it like bert-base-chinese.
func chineseTokens(n int) []string {
	const s = "深度学习模型通过注意力机制理解句子中每个词与其他词之间的关系从而在翻译摘要和问答等任务上取得了很好的效果我们用围棋语言来实现它"
	rs := []rune(s)
	toks := []string{"[CLS]"}
	for i := 0; i < n-2; i++ {
		toks = append(toks, string(rs[i%len(rs)]))
	}
	return append(toks, "[SEP]")
}

// softmaxRows returns [heads][T][T] attention with structured, head-dependent patterns
// (previous token, diagonal, [CLS], broad) plus noise, deterministic for seed.
func softmaxRows(heads, T int, seed uint64) [][][]float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	w := make([][][]float64, heads)
	for h := range w {
		w[h] = make([][]float64, T)
		for q := 0; q < T; q++ {
			logits := make([]float64, T)
			for k := range logits {
				l := r.NormFloat64()
				switch h % 4 {
				case 0:
					if k == q-1 {
						l += 5
					}
				case 1:
					if k == q {
						l += 4
					}
				case 2:
					if k == 0 || k == T-1 {
						l += 4
					}
				}
				logits[k] = l
			}
			max, sum := math.Inf(-1), 0.0
			for _, l := range logits {
				max = math.Max(max, l)
			}
			row := make([]float64, T)
			for k, l := range logits {
				row[k] = math.Exp(l - max)
				sum += row[k]
			}
			for k := range row {
				row[k] /= sum
			}
			w[h][q] = row
		}
	}
	return w
}

// allViews returns one chart of every kind, with nasty tokens mixed in.
func allViews() []*Chart {
	toks := chineseTokens(60)
	small := chineseTokens(12)
	nasty := append([]string(nil), small...)
	nasty[3], nasty[5] = `</script><img src=x onerror="document.title='XSS'">`, "\"'\u2028"
	model := make([][][][]float64, 4)
	for l := range model {
		model[l] = softmaxRows(6, len(small), uint64(l))
	}
	r := rand.New(rand.NewPCG(1, 2))
	q := make([]float64, 32)
	k := make([][]float64, len(small))
	for i := range q {
		q[i] = r.NormFloat64()
	}
	for j := range k {
		k[j] = make([]float64, 32)
		for i := range k[j] {
			k[j][i] = r.NormFloat64() + 0.5*q[i]*float64(j%3)
		}
	}
	vals := make([]float64, 2000)
	for i := range vals {
		vals[i] = r.NormFloat64() * 0.02
	}
	pts := make([][2]float64, 40)
	names := make([]string, 40)
	for i := range pts {
		c := float64(i % 3)
		pts[i] = [2]float64{c*3 + r.NormFloat64(), c + r.NormFloat64()}
		names[i] = fmt.Sprintf("词%d", i)
	}
	live := NewLiveLoss("pretrain loss", 0)
	for s := 0; s <= 200; s++ {
		v := math.NaN()
		if s%20 == 0 {
			v = 4*math.Exp(-float64(s)/80) + 1.2
		}
		live.train = append(live.train, 4*math.Exp(-float64(s)/70)+1+0.1*r.Float64())
		live.val = append(live.val, v)
		live.steps = append(live.steps, float64(s))
	}
	a := softmaxRows(2, len(small), 3)
	return []*Chart{
		Attention(toks, softmaxRows(12, 60, 1)).Title("bert-base-chinese layer 3 (60 tokens, 12 heads)"),
		AttentionModel(nasty, model),
		AttentionLines(nasty, softmaxRows(3, len(nasty), 4)),
		Neuron(small, 4, q, k, neuronProbs(q, k)),
		AttentionDiff(small, a[0], a[1], "head 0", "head 1"),
		Tokens(TokenRow{Name: "BPE", Tokens: []string{"深度", "学习", " <b>", "</script>"}, IDs: []int{1, 2, 3, 4}, Spans: [][2]int{{0, 6}, {6, 12}, {12, 16}, {16, 25}}},
			TokenRow{Name: "char", Tokens: []string{"深", "度", "学", "习"}}),
		live.Chart(),
		Histogram(vals, 40, "weights"),
		Heatmap([]string{"layer 0", "layer 1", "layer 2"}, []string{"q", "k", "v", "o"}, [][]float64{{1, 2, 3, 4}, {2, 3, 4, 5}, {0.5, 1, 8, 2}}),
		Bars([]string{"fp32", "int8", "int4"}, Series{"latency (ms)", []float64{12, 7, 5}}, Series{"size (MB)", []float64{400, 100, 50}}),
		ConfusionMatrix([]string{"正面", "负面", "中性"}, [][]int{{50, 3, 7}, {4, 40, 6}, {8, 5, 30}}),
		Scatter2D(pts, names),
		LatencyPercentiles([]int{1, 2, 4, 8, 16}, []float64{10, 11, 13, 20, 40}, []float64{15, 17, 22, 35, 80}, []float64{20, 25, 35, 60, 150}),
		Throughput([]int{1, 2, 4, 8, 16}, []float64{50, 95, 180, 300, 350}),
	}
}

// neuronProbs is the unmasked attention row of query q over keys k.
func neuronProbs(q []float64, k [][]float64) []float64 {
	s, err := NeuronScores(q, k)
	if err != nil {
		panic(err)
	}
	return softmaxOf(s)
}
