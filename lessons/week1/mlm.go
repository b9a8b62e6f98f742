package week1

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm/tokenizer"
)

// MLMSentence is the week's fill-mask example.
const MLMSentence = "我今天去[MASK]超市"

// MaskFill is one candidate for a [MASK]: the filled sentence and its probability.
type MaskFill struct {
	Token    string
	Prob     float64
	Sentence string // the text with the candidate in place of [MASK]
}

// FillTable formats candidates as table rows.
func FillTable(fs []MaskFill) (headers []string, rows [][]string) {
	for i, f := range fs {
		rows = append(rows, []string{fmt.Sprint(i + 1), f.Token, fmt.Sprintf("%.1f%%", 100*f.Prob), f.Sentence})
	}
	return []string{"排名 (rank)", "token", "概率 (probability)", "句子 (sentence)"}, rows
}

// Candidate is one possible token with its probability.
type Candidate struct {
	Token string
	Prob  float64
}

// ProbeWindowChars is how many characters on each side of the answer make a probe's
// window: the answer with ProbeWindowChars characters left and right (fewer at the ends).
const ProbeWindowChars = 2

// ProbeWindow returns a probe's window for each acceptable answer — the answer with
// ProbeWindowChars characters on each side, e.g. 我今天去[MASK]行取钱 → 天去银行取 — and
// the first window that occurs somewhere in the corpus ("" if none). A model can answer a
// probe whose window it has read by recall (the same five characters were in its training
// text); a probe whose window never occurs needs more than recall.
func ProbeWindow(p data.Probe) (windows []string, seen string) {
	i := strings.Index(p.Text, data.MaskToken)
	if i < 0 {
		return nil, ""
	}
	left, right := []rune(p.Text[:i]), []rune(p.Text[i+len(data.MaskToken):])
	l := string(left[max(0, len(left)-ProbeWindowChars):])
	r := string(right[:min(ProbeWindowChars, len(right))])
	for _, a := range p.Answers {
		w := l + a + r
		windows = append(windows, w)
		if seen == "" && len(FindInCorpus(w, 1)) > 0 {
			seen = w
		}
	}
	return windows, seen
}

// ProbeRow is one fill-mask probe and the model's answer.
type ProbeRow struct {
	Text       string
	Answers    []string
	Note       string
	Top        []Candidate // top-5 candidates, most likely first
	Hit1, Hit5 bool
	Window     string // the probe's window (see [ProbeWindow]) that occurs in the corpus, "" if none does
}

// ProbeGroup is the accuracy on a group of probes.
type ProbeGroup struct {
	N          int
	Top1, Top5 float64 // fractions answered within the first 1 / 5 candidates
}

// ProbeResult is a model's accuracy on the fill-mask probes: on all of them, and separately
// on those whose window occurs in the corpus (Seen: recall can answer them) and those
// whose window does not (New: closer to generalisation).
type ProbeResult struct {
	N          int
	Top1, Top5 float64 // fractions of all probes answered within the first 1 / 5 candidates
	Seen, New  ProbeGroup
	InCorpus   int // probes whose whole filled-in sentence occurs in the corpus (for any answer)
	Rows       []ProbeRow
}

// Score fills in the accuracies from Rows.
func (r *ProbeResult) Score() {
	r.N, r.Top1, r.Top5, r.Seen, r.New = len(r.Rows), 0, 0, ProbeGroup{}, ProbeGroup{}
	add := func(g *ProbeGroup, row ProbeRow) {
		g.N++
		if row.Hit1 {
			g.Top1++
		}
		if row.Hit5 {
			g.Top5++
		}
	}
	all := ProbeGroup{}
	for _, row := range r.Rows {
		add(&all, row)
		if row.Window != "" {
			add(&r.Seen, row)
		} else {
			add(&r.New, row)
		}
	}
	for _, g := range []*ProbeGroup{&all, &r.Seen, &r.New} {
		if g.N > 0 {
			g.Top1 /= float64(g.N)
			g.Top5 /= float64(g.N)
		}
	}
	r.Top1, r.Top5 = all.Top1, all.Top5
}

// GroupTable compares the accuracy on all probes, on those whose window the corpus holds
// and on those whose window it does not.
func (r *ProbeResult) GroupTable() (headers []string, rows [][]string) {
	for _, g := range []struct {
		name string
		g    ProbeGroup
	}{
		{"全部 (all)", ProbeGroup{r.N, r.Top1, r.Top5}},
		{fmt.Sprintf("窗口在语料里 (window seen: recall)，±%d 字", ProbeWindowChars), r.Seen},
		{fmt.Sprintf("窗口不在语料里 (window new: generalisation)，±%d 字", ProbeWindowChars), r.New},
	} {
		rows = append(rows, []string{g.name, fmt.Sprint(g.g.N), fmt.Sprintf("%.0f%%", 100*g.g.Top1), fmt.Sprintf("%.0f%%", 100*g.g.Top5)})
	}
	return []string{"探针组 (probes)", "个数 (n)", "top-1", "top-5"}, rows
}

// Table formats the first n probe rows (all when n ≤ 0).
func (r *ProbeResult) Table(n int) (headers []string, rows [][]string) {
	for i, p := range r.Rows {
		if n > 0 && i >= n {
			break
		}
		var top []string
		for _, c := range p.Top {
			top = append(top, fmt.Sprintf("%s %.0f%%", c.Token, 100*c.Prob))
		}
		mark := "✗"
		switch {
		case p.Hit1:
			mark = "✓ top-1"
		case p.Hit5:
			mark = "✓ top-5"
		}
		window := "—"
		if p.Window != "" {
			window = p.Window
		}
		rows = append(rows, []string{p.Text, strings.Join(p.Answers, ","), strings.Join(top, "  "), mark, window})
	}
	return []string{"探针 (probe)", "答案 (answer)", "模型的前 5 名 (top-5)", "命中 (hit)", "语料里出现过的窗口 (seen window)"}, rows
}

// NSPPair is a next-sentence-prediction example: BERT sees [CLS] A [SEP] B [SEP] and
// predicts from [CLS] whether B really follows A.
type NSPPair struct {
	A, B    string
	IsNext  bool
	Why     string   // how the pair was built
	Tokens  []string // [CLS] A [SEP] B [SEP]
	TypeIDs []int    // 0 for [CLS] A [SEP], 1 for B [SEP]
}

// Label is "是下一句 (IsNext)" or "不是下一句 (NotNext)".
func (p NSPPair) Label() string {
	if p.IsNext {
		return "是下一句 (IsNext)"
	}
	return "不是下一句 (NotNext)"
}

// Table is a table's headers and rows.
type Table struct {
	Headers []string
	Rows    [][]string
}

// Tables lays the pair out as BERT sees it, width positions per table: one column per
// token, the token and its segment (token type id) in aligned rows.
func (p NSPPair) Tables(width int) []Table {
	width = max(width, 1)
	var out []Table
	for from := 0; from < len(p.Tokens); from += width {
		t := Table{Headers: []string{"位置 (position)"}}
		tok, seg := []string{"token"}, []string{"段 (segment / token type id)"}
		for i := from; i < min(from+width, len(p.Tokens)); i++ {
			t.Headers = append(t.Headers, fmt.Sprint(i))
			tok = append(tok, p.Tokens[i])
			seg = append(seg, fmt.Sprint(p.TypeIDs[i]))
		}
		t.Rows = [][]string{tok, seg}
		out = append(out, t)
	}
	return out
}

// NSPTable lists pairs with their labels and how each was built.
func NSPTable(pairs []NSPPair) (headers []string, rows [][]string) {
	for _, p := range pairs {
		rows = append(rows, []string{p.Label(), p.A, p.B, p.Why})
	}
	return []string{"标签 (label)", "句子 A", "句子 B", "怎么造的 (how it was built)"}, rows
}

// ModelTokenizer loads the tokenizer of a shipped model (lessons.BERTTinyZH, …) from
// models/NAME without loading its weights.
func ModelTokenizer(name string) (tokenizer.Tokenizer, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	return tokenizer.Load(filepath.Join(root, "models", name))
}

// corpusSentences splits the corpus's prose lines (not the alert logs) into sentences at
// 。！？ and keeps those of 6–40 characters without quotation marks (a quote cut at its
// 。 would be half a dialogue), with their line number so consecutive sentences can be found.
func corpusSentences() (sents []string, line, ord []int) {
	train, _ := data.CorpusLines()
	for i, l := range train {
		if strings.HasPrefix(l, "20") { // alert log lines: not prose
			continue
		}
		start, k := 0, 0
		for j, r := range l {
			if r == '。' || r == '！' || r == '？' {
				end := j + len(string(r))
				s := strings.TrimSpace(l[start:end])
				if n := len([]rune(s)); n >= 6 && n <= 40 && !strings.ContainsAny(s, "“”\"") {
					sents, line, ord = append(sents, s), append(line, i), append(ord, k)
				}
				start, k = end, k+1
			}
		}
	}
	return sents, line, ord
}

// NSPExamples builds n sentence pairs from the corpus the way BERT's pretraining did: half
// IsNext (B is the sentence that follows A in the same paragraph), half NotNext (B is a
// random sentence from another paragraph). Pairs are encoded with tok ([CLS]/[SEP] needed).
func NSPExamples(tok tokenizer.Tokenizer, n int, seed uint64) ([]NSPPair, error) {
	sents, line, ord := corpusSentences()
	r := rand.New(rand.NewPCG(seed, 11))
	var out []NSPPair
	for tries := 0; len(out) < n && tries < 100*n; tries++ {
		i := r.IntN(len(sents) - 1)
		if line[i] != line[i+1] || ord[i+1] != ord[i]+1 {
			continue // A must be followed by B in its paragraph
		}
		p := NSPPair{A: sents[i]}
		if len(out)%2 == 0 {
			p.B, p.IsNext = sents[i+1], true
			p.Why = fmt.Sprintf("B 是 A 在同一段落（语料第 %d 行）里的下一句", line[i]+1)
		} else {
			j := r.IntN(len(sents))
			for line[j] == line[i] {
				j = r.IntN(len(sents))
			}
			p.B = sents[j]
			p.Why = fmt.Sprintf("B 是从另一段落（语料第 %d 行）随机抽的句子", line[j]+1)
		}
		ids, types, toks, err := tokenizer.EncodePair(tok, p.A, p.B, 0)
		if err != nil {
			return nil, err
		}
		_ = ids
		for _, t := range toks {
			p.Tokens = append(p.Tokens, t.Text)
		}
		p.TypeIDs = types
		out = append(out, p)
	}
	if len(out) < n {
		return nil, fmt.Errorf("nsp: found only %d pairs", len(out))
	}
	return out, nil
}

// Verdict says what the split between seen and new windows shows, from the numbers.
func (r *ProbeResult) Verdict() string {
	if r.New.N == 0 {
		return "每个探针的窗口都在语料里出现过：这组探针测不出泛化，只能说明模型记住了多少 (all windows seen: this measures recall only)。"
	}
	if r.New.Top1 >= r.Seen.Top1-0.1 {
		return fmt.Sprintf("窗口没出现过的 %d 个探针，top-1 是 %.0f%%，不比窗口见过的 %d 个 (%.0f%%) 差多少：模型不只是背下了这些片段。但 %d 个探针太少，差几个百分点只是噪声。",
			r.New.N, 100*r.New.Top1, r.Seen.N, 100*r.Seen.Top1, r.New.N)
	}
	return fmt.Sprintf("窗口没出现过的 %d 个探针，top-1 只有 %.0f%%，比窗口见过的 (%.0f%%) 低得多：答对的探针里有不少靠的是背诵 (recall)。",
		r.New.N, 100*r.New.Top1, 100*r.Seen.Top1)
}
