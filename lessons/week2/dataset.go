package week2

import (
	"fmt"
	"strconv"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm/tokenizer"
)

// Splits are the alert splits in the order the notebook shows them.
var Splits = []string{"train", "val", "test", "hard"}

// BalanceTable returns one row per class: the label, its Chinese name and its count in
// every split (train, val, test, hard), then a total row.
func BalanceTable() (headers []string, rows [][]string, err error) {
	headers = []string{"类别 label", "中文", "train", "val", "test", "hard"}
	labels := data.AlertLabels()
	counts := make([][]int, len(labels))
	for i := range counts {
		counts[i] = make([]int, len(Splits))
	}
	total := make([]int, len(Splits))
	for j, s := range Splits {
		as, err := data.Alerts(s)
		if err != nil {
			return nil, nil, err
		}
		for _, a := range as {
			counts[data.AlertLabelIndex(a.Label)][j]++
			total[j]++
		}
	}
	for i, l := range labels {
		zh, _ := data.AlertLabelZH(l)
		row := []string{l, zh}
		for _, c := range counts[i] {
			row = append(row, strconv.Itoa(c))
		}
		rows = append(rows, row)
	}
	row := []string{"合计 total", ""}
	for _, c := range total {
		row = append(row, strconv.Itoa(c))
	}
	return headers, append(rows, row), nil
}

// ExampleTable returns the first training alert of every class.
func ExampleTable() (headers []string, rows [][]string, err error) {
	as, err := data.Alerts("train")
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	byLabel := map[string]string{}
	for _, a := range as {
		if !seen[a.Label] {
			seen[a.Label] = true
			byLabel[a.Label] = a.Text
		}
	}
	for _, l := range data.AlertLabels() {
		zh, _ := data.AlertLabelZH(l)
		rows = append(rows, []string{zh, byLabel[l]})
	}
	return []string{"类别", "训练集里的一条报警 (train example)"}, rows, nil
}

// TokenLengths returns the number of tokens of every alert of a split as bert-tiny-zh
// reads it: [CLS] text [SEP], nothing cut.
func TokenLengths(split string) ([]float64, error) {
	dir, err := lessons.ModelDir(lessons.BERTTinyZH)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, err
	}
	as, err := data.Alerts(split)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(as))
	for i, a := range as {
		ids, _ := tokenizer.EncodeSingle(tok, a.Text, 1<<20)
		out[i] = float64(len(ids))
	}
	return out, nil
}

// ShareOver returns the share of lengths above n.
func ShareOver(lengths []float64, n int) float64 {
	k := 0
	for _, l := range lengths {
		if l > float64(n) {
			k++
		}
	}
	return float64(k) / float64(len(lengths))
}

// kindZH explains each kind of the hard split in Chinese.
var kindZH = map[string]string{
	"word_order":   "换语序：同样的信息换一种顺序说",
	"english":      "纯英文：训练集里几乎只有中文描述",
	"abbrev":       "缩写/简写：mem、盘满、gone 这类写法",
	"two_symptoms": "两个症状：一个根因加一个后果，按根因标注",
	"near_miss":    "近似陷阱：出现别的类别的词，但句子排除了它",
	"new_vocab":    "新词汇：训练集没有用过的说法",
}

// HardKindTable returns one row per kind of difficulty of the hard split: the kind, what it
// means, how many alerts it has and its first alert.
func HardKindTable() (headers []string, rows [][]string, err error) {
	as, err := data.Alerts("hard")
	if err != nil {
		return nil, nil, err
	}
	count := map[string]int{}
	first := map[string]data.Alert{}
	for _, a := range as {
		if count[a.Kind] == 0 {
			first[a.Kind] = a
		}
		count[a.Kind]++
	}
	for _, k := range data.AlertKinds() {
		zh, _ := data.AlertLabelZH(first[k].Label)
		rows = append(rows, []string{k, kindZH[k], strconv.Itoa(count[k]), fmt.Sprintf("%s → %s", first[k].Text, zh)})
	}
	return []string{"难度 kind", "含义", "条数", "例子 → 标签"}, rows, nil
}
