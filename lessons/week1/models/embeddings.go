package models

import (
	"fmt"
	"math"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/viz"
)

// EmbeddingGroup is a named set of characters expected to sit near each other.
type EmbeddingGroup struct {
	Name  string
	Chars []string
}

// EmbeddingGroups are the character groups the lesson plots: digits, places, operations
// words, time words and verbs — all frequent in the corpus.
func EmbeddingGroups() []EmbeddingGroup {
	split := func(s string) []string {
		var out []string
		for _, r := range s {
			out = append(out, string(r))
		}
		return out
	}
	return []EmbeddingGroup{
		{"数字 digits", split("0123456789")},
		{"时间 time", split("年月日天时分秒周")},
		{"运维 ops", split("磁盘存储网络库")},
		{"标点 punctuation", split("，。：、；")},
		{"动作 verbs", split("去来看买吃做")},
	}
}

// EmbeddingPoint is one character placed in 2-D.
type EmbeddingPoint struct {
	Char  string
	Group string
	X, Y  float64
}

// EmbeddingMapResult is what [EmbeddingMap] returns: the points and how much of the
// variance of the chosen embeddings the two axes keep.
type EmbeddingMapResult struct {
	Points    []EmbeddingPoint
	Vectors   [][]float64 // each point's full embedding row, [point][d_model]
	Explained [2]float64
	Skipped   []string // characters not in the model's vocabulary
}

// XY returns the points as [][2]float64 and their labels, the form viz.Scatter2D takes.
func (r *EmbeddingMapResult) XY() (points [][2]float64, labels []string) {
	for _, p := range r.Points {
		points = append(points, [2]float64{p.X, p.Y})
		labels = append(labels, p.Char)
	}
	return points, labels
}

// TokenEmbeddings returns the token-embedding matrix of a model, [vocab][d]: GPT's wte
// (tied with the output layer) or BERT's word embeddings.
func TokenEmbeddings(m *llm.Model) ([][]float64, error) {
	for _, name := range []string{"transformer.wte.weight", "bert.embeddings.word_embeddings.weight"} {
		if out, err := matrix(m, name); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("embeddings: the model has no token-embedding matrix")
}

// EmbeddingMap looks up each character's row of the model's token embeddings and projects
// them to 2-D with [viz.PCA]. groups label the characters (nil: [EmbeddingGroups]).
func EmbeddingMap(m *llm.Model, groups []EmbeddingGroup) (*EmbeddingMapResult, error) {
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("embedding map: the model has no tokenizer")
	}
	if groups == nil {
		groups = EmbeddingGroups()
	}
	emb, err := TokenEmbeddings(m)
	if err != nil {
		return nil, err
	}
	res := &EmbeddingMapResult{}
	var rows [][]float64
	for _, g := range groups {
		for _, c := range g.Chars {
			id, ok := m.Tokenizer.TokenToID(c)
			if !ok || id >= len(emb) {
				res.Skipped = append(res.Skipped, c)
				continue
			}
			rows = append(rows, emb[id])
			res.Vectors = append(res.Vectors, emb[id])
			res.Points = append(res.Points, EmbeddingPoint{Char: c, Group: g.Name})
		}
	}
	p, err := viz.PCA(rows, 2)
	if err != nil {
		return nil, fmt.Errorf("embedding map: %w", err)
	}
	for i := range res.Points {
		res.Points[i].X, res.Points[i].Y = p.Points[i][0], p.Points[i][1]
	}
	res.Explained = [2]float64{p.Explained[0], p.Explained[1]}
	return res, nil
}

// GroupSpread measures how well the groups cluster in the embeddings' full space
// (d_model dimensions): the mean Euclidean distance between characters of the same group
// divided by the mean distance between characters of different groups. Below 1, groups
// are tighter than the whole cloud.
func (r *EmbeddingMapResult) GroupSpread() float64 {
	return groupSpread(r.Points, func(i, j int) float64 {
		d := 0.0
		for k := range r.Vectors[i] {
			x := r.Vectors[i][k] - r.Vectors[j][k]
			d += x * x
		}
		return math.Sqrt(d)
	})
}

// GroupSpread2D is [EmbeddingMapResult.GroupSpread] measured in the 2-D PCA plane the
// chart shows, which keeps only Explained[0]+Explained[1] of the variance.
func (r *EmbeddingMapResult) GroupSpread2D() float64 {
	return groupSpread(r.Points, func(i, j int) float64 {
		return math.Hypot(r.Points[i].X-r.Points[j].X, r.Points[i].Y-r.Points[j].Y)
	})
}

func groupSpread(pts []EmbeddingPoint, dist func(i, j int) float64) float64 {
	var in, out float64
	var nIn, nOut int
	for i := range pts {
		for j := i + 1; j < len(pts); j++ {
			d := dist(i, j)
			if pts[i].Group == pts[j].Group {
				in, nIn = in+d, nIn+1
			} else {
				out, nOut = out+d, nOut+1
			}
		}
	}
	if nIn == 0 || nOut == 0 || out == 0 {
		return math.NaN()
	}
	return (in / float64(nIn)) / (out / float64(nOut))
}

// EmbeddingView draws an embedding map as a labelled scatter plot.
func EmbeddingView(r *EmbeddingMapResult) *viz.Chart {
	pts, labels := r.XY()
	return viz.Scatter2D(pts, labels).Title(fmt.Sprintf("token 嵌入的 PCA 投影 (embeddings, PCA)：PC1 %.0f%% + PC2 %.0f%% 的方差",
		100*r.Explained[0], 100*r.Explained[1]))
}
