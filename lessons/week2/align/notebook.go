package align

import (
	"fmt"
	"strings"

	"github.com/divellm/divellm/kernel/display"
	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/lessons/week1"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/viz"
)

// Must returns v, or panics with err: notebook cells use it to stay short.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Say shows one line of text in the cell, in order with its tables and charts.
func Say(format string, args ...any) error { return display.Text(fmt.Sprintf(format, args...)) }

// ShowTable displays a table (numbers right-aligned, text left-aligned).
func ShowTable(headers []string, rows [][]string) error { return week1.ShowTable(headers, rows) }

func tokenText(s string) string {
	switch s {
	case " ":
		return "␠"
	case "":
		return "∅"
	}
	return s
}

// LabelRows shows how one SFT line is labelled: every position's input token and the
// label the loss compares the model's prediction with (the next token), or −100.
func LabelRows(e Example) (headers []string, rows [][]string, err error) {
	m, err := lessons.LoadModel(lessons.GPTTinyZH)
	if err != nil {
		return nil, nil, err
	}
	enc, err := Encode(m.Tokenizer, e.Prompt, e.Answer, m.Config.MaxPos)
	if err != nil {
		return nil, nil, err
	}
	for t, id := range enc.IDs {
		part := "提示 prompt"
		if t >= enc.PromptLen {
			part = "答案 answer"
		}
		label := "−100（不计损失）"
		if l := enc.Labels[t]; l != Ignore {
			label = fmt.Sprintf("%s (%d)", tokenText(m.Tokenizer.IDToToken(l)), l)
		}
		rows = append(rows, []string{fmt.Sprint(t), part, fmt.Sprintf("%s (%d)", tokenText(m.Tokenizer.IDToToken(id)), id), label})
	}
	return []string{"位置 t", "属于", "输入 ids[t]", "标签 labels[t]"}, rows, nil
}

// DataRows summarises the notebook's SFT and DPO data: sizes, and one example of each kind
// of line.
func DataRows() (headers []string, rows [][]string, err error) {
	tr, err := data.SFT("train")
	if err != nil {
		return nil, nil, err
	}
	te, err := data.SFT("test")
	if err != nil {
		return nil, nil, err
	}
	pt, err := data.DPO("train")
	if err != nil {
		return nil, nil, err
	}
	ph, err := data.DPO("test")
	if err != nil {
		return nil, nil, err
	}
	rows = [][]string{
		{"SFT 训练：运维问答 (ops Q&A)", fmt.Sprint(len(tr)), "问：" + tr[0].Question, tr[0].Answer},
		{"SFT 训练：马虎的示范 (sloppy demos)", fmt.Sprint(len(pt)), "问：" + pt[1].Question, pt[1].Rejected},
		{"SFT 留出 (held out)", fmt.Sprint(len(te)), "问：" + te[0].Question, te[0].Answer},
		{"DPO 训练：偏好对 (preference pairs)", fmt.Sprint(len(pt)), "问：" + pt[2].Question, "好 " + pt[2].Chosen + " ／ 差 " + pt[2].Rejected},
		{"DPO 留出", fmt.Sprint(len(ph)), "问：" + ph[0].Question, "好 " + ph[0].Chosen + " ／ 差 " + ph[0].Rejected},
	}
	return []string{"数据", "条数", "例子：问题", "答案"}, rows, nil
}

// Verdict sorts a held-out answer: "正确" (the reference answer, exactly), "答成别的"
// (word for word the answer to another ops question: the wrong kind of alert or intent),
// "坏习惯" (word for word one of the vague, unsafe or off-topic sloppy demonstrations) or
// "其他" (anything else: a new mix of phrases, garbled text).
type Verdict string

const (
	Right   Verdict = "正确"
	Swapped Verdict = "答成别的"
	Sloppy  Verdict = "坏习惯"
	Other   Verdict = "其他"
)

// Verdicts lists the verdicts in display order.
var Verdicts = []Verdict{Right, Swapped, Sloppy, Other}

// Judge returns the verdict of every held-out answer (answers[i] to the i-th SFT test
// question).
func Judge(answers []string) ([]Verdict, error) {
	te, err := data.SFT("test")
	if err != nil {
		return nil, err
	}
	if len(answers) != len(te) {
		return nil, fmt.Errorf("judge: %d answers for %d held-out questions", len(answers), len(te))
	}
	tr, err := data.SFT("train")
	if err != nil {
		return nil, err
	}
	pairs, err := data.DPO("train")
	if err != nil {
		return nil, err
	}
	bad, good := map[string]bool{}, map[string]bool{}
	for _, p := range pairs {
		if p.RejectedKind != "wrong" {
			bad[p.Rejected] = true
		}
	}
	for _, e := range append(tr, te...) {
		good[e.Answer] = true
	}
	out := make([]Verdict, len(answers))
	for i, a := range answers {
		switch {
		case a == te[i].Answer:
			out[i] = Right
		case bad[a]:
			out[i] = Sloppy
		case good[a]:
			out[i] = Swapped
		default:
			out[i] = Other
		}
	}
	return out, nil
}

// VerdictChart counts the verdicts of the held-out answers of each model (names[i]
// answered answers[i]) as grouped bars.
func VerdictChart(title string, names []string, answers ...[]string) (*viz.Chart, error) {
	counts := make([]map[Verdict]float64, len(answers))
	for i, as := range answers {
		vs, err := Judge(as)
		if err != nil {
			return nil, err
		}
		counts[i] = map[Verdict]float64{}
		for _, v := range vs {
			counts[i][v]++
		}
	}
	var series []viz.Series
	for _, v := range Verdicts {
		s := viz.Series{Name: string(v)}
		for i := range answers {
			s.Values = append(s.Values, counts[i][v])
		}
		series = append(series, s)
	}
	return viz.Bars(names, series...).Title(title), nil
}

// question strips 问： and 答： from a prompt for display.
func question(prompt string) string {
	return strings.TrimSuffix(strings.TrimPrefix(prompt, data.QuestionPrefix), data.AnswerPrefix)
}

// SFTRows shows held-out questions, one per alert kind (the first of each, at most n):
// the answer of the shipped model, of the SFT model, and the reference.
func (r *Run) SFTRows(n int) (headers []string, rows [][]string, err error) {
	te, err := data.SFT("test")
	if err != nil {
		return nil, nil, err
	}
	if len(r.Before) != len(te) || len(r.After) != len(te) {
		return nil, nil, fmt.Errorf("the run has %d answers for %d held-out questions", len(r.After), len(te))
	}
	vs, err := Judge(r.After)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for i, e := range te {
		if seen[e.Kind] || len(rows) >= n {
			continue
		}
		seen[e.Kind] = true
		rows = append(rows, []string{e.Question, r.Before[i], r.After[i], string(vs[i]), e.Answer})
	}
	return []string{"留出的问题 (held-out)", "训练前 (gpt-tiny-zh)", "SFT 后", "判断", "参考答案"}, rows, nil
}

// DPORows shows held-out questions whose greedy answer's verdict changed with DPO: up to
// n that became right, then up to n that stopped being right.
func (r *Run) DPORows(n int) (headers []string, rows [][]string, err error) {
	te, err := data.DPO("test")
	if err != nil {
		return nil, nil, err
	}
	before, err := Judge(r.Before)
	if err != nil {
		return nil, nil, err
	}
	after, err := Judge(r.After)
	if err != nil {
		return nil, nil, err
	}
	for _, want := range []func(i int) bool{
		func(i int) bool { return before[i] != Right && after[i] == Right },
		func(i int) bool { return before[i] == Right && after[i] != Right },
	} {
		k := 0
		for i := range te {
			if want(i) && k < n {
				rows = append(rows, []string{te[i].Question, r.Before[i] + "（" + string(before[i]) + "）", r.After[i] + "（" + string(after[i]) + "）"})
				k++
			}
		}
	}
	return []string{"留出的问题", "DPO 前（SFT 模型）", "DPO 后"}, rows, nil
}

// ShiftRows measures how DPO moved the policy on the held-out pairs, by the kind of the
// rejected answer: the mean change of log π(y_w) and log π(y_l) from the reference (the SFT
// model) to the policy, and the share of pairs where the chosen answer is the more likely
// one, log π(y_w) > log π(y_l), under each.
func (r *Run) ShiftRows() (headers []string, rows [][]string, err error) {
	ps, err := data.DPO("test")
	if err != nil {
		return nil, nil, err
	}
	policy, err := r.Load()
	if err != nil {
		return nil, nil, err
	}
	ref, err := llm.Load(r.Base)
	if err != nil {
		return nil, nil, err
	}
	enc, err := EncodePairs(policy, FromDPO(ps), 0)
	if err != nil {
		return nil, nil, err
	}
	type acc struct{ n, dw, dl, prefRef, prefPol float64 }
	by := map[string]*acc{}
	order := []string{"wrong", "vague", "unsafe", "off_topic", "全部 all"}
	for _, k := range order {
		by[k] = &acc{}
	}
	for lo := 0; lo < len(enc); lo += 8 {
		hi := min(lo+8, len(enc))
		tb := PairBatch(enc[lo:hi], policy.Config.PadID, policy.Config.MaxPos)
		lp, err := SeqLogProbs(policy, tb)
		if err != nil {
			return nil, nil, err
		}
		lr, err := SeqLogProbs(ref, tb)
		if err != nil {
			return nil, nil, err
		}
		for j := range hi - lo {
			p := ps[lo+j]
			for _, k := range []string{p.RejectedKind, "全部 all"} {
				a := by[k]
				if a == nil {
					continue
				}
				a.n++
				a.dw += lp[2*j] - lr[2*j]
				a.dl += lp[2*j+1] - lr[2*j+1]
				if lr[2*j] > lr[2*j+1] {
					a.prefRef++
				}
				if lp[2*j] > lp[2*j+1] {
					a.prefPol++
				}
			}
		}
	}
	names := map[string]string{"wrong": "答成别的 wrong", "vague": "含糊 vague", "unsafe": "危险 unsafe", "off_topic": "跑题 off_topic"}
	for _, k := range order {
		a := by[k]
		if a.n == 0 {
			continue
		}
		name := names[k]
		if name == "" {
			name = k
		}
		rows = append(rows, []string{name, fmt.Sprint(a.n), fmt.Sprintf("%+.2f", a.dw/a.n), fmt.Sprintf("%+.2f", a.dl/a.n),
			fmt.Sprintf("%.0f%%", 100*a.prefRef/a.n), fmt.Sprintf("%.0f%%", 100*a.prefPol/a.n)})
	}
	return []string{"差答案的类型", "对数", "好答案 Δlog π", "差答案 Δlog π", "好答案更可能：DPO 前", "DPO 后"}, rows, nil
}

// ShowShift displays ShiftRows.
func (r *Run) ShowShift() error {
	h, rows, err := r.ShiftRows()
	if err != nil {
		return err
	}
	return ShowTable(h, rows)
}

// HandPair is one held-out preference pair with the per-token log-probabilities of its two
// answers under the policy (the DPO model) and the reference (the SFT model), for the
// notebook's by-hand DPO loss.
type HandPair struct {
	Pair
	PolicyChosen, PolicyRejected []float64
	RefChosen, RefRejected       []float64
	policy                       *llm.Model
}

// PairForHand loads the DPO run's policy and its reference and returns the i-th held-out
// pair's token log-probabilities under both.
func (r *Run) PairForHand(i int) (*HandPair, error) {
	_, held, err := DPOData()
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= len(held) {
		return nil, fmt.Errorf("pair %d: there are %d held-out pairs", i, len(held))
	}
	policy, err := r.Load()
	if err != nil {
		return nil, err
	}
	ref, err := llm.Load(r.Base)
	if err != nil {
		return nil, err
	}
	h := &HandPair{Pair: held[i], policy: policy}
	enc, err := EncodePairs(policy, held[i:i+1], 0)
	if err != nil {
		return nil, err
	}
	tb := PairBatch(enc, policy.Config.PadID, policy.Config.MaxPos)
	lp, err := TokenLogProbs(policy, tb)
	if err != nil {
		return nil, err
	}
	h.PolicyChosen, h.PolicyRejected = lp[0], lp[1]
	if lp, err = TokenLogProbs(ref, tb); err != nil {
		return nil, err
	}
	h.RefChosen, h.RefRejected = lp[0], lp[1]
	return h, nil
}

// LibraryLoss is llm's DPO objective (the graph the trainer minimises) on this pair, with
// the reference log-probabilities refChosen and refRejected: its loss and margin.
func (h *HandPair) LibraryLoss(beta, refChosen, refRejected float64) (loss, margin float64, err error) {
	enc, err := EncodePairs(h.policy, []Pair{h.Pair}, 0)
	if err != nil {
		return 0, 0, err
	}
	enc[0].RefChosen, enc[0].RefRejected = refChosen, refRejected
	ev, err := h.policy.EvaluateBatches(llm.DPO, []*llm.TrainBatch{PairBatch(enc, h.policy.Config.PadID, h.policy.Config.MaxPos)}, beta)
	if err != nil {
		return 0, 0, err
	}
	return ev.Loss, ev.Margin, nil
}

// Must2 is Must for two results.
func Must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// SourceNote says where a run's model comes from: the shipped model (its curves recorded
// by make models) or a training run in this checkout.
func SourceNote(r *Run) string {
	if r.Shipped != "" {
		return fmt.Sprintf("（模型取自仓库自带的 models/%s：make models 用同一配方训练，配方哈希一致）", r.Shipped)
	}
	return "（仓库自带的模型不是这个配方训练的，模型在本机训练，存在 .cache/week2/align）"
}

// ShowLabels displays LabelRows(e).
func ShowLabels(e Example) error {
	h, rows, err := LabelRows(e)
	if err != nil {
		return err
	}
	return ShowTable(h, rows)
}

// ShowData displays DataRows.
func ShowData() error {
	h, rows, err := DataRows()
	if err != nil {
		return err
	}
	return ShowTable(h, rows)
}

// VerdictCounts counts the verdicts of the held-out answers, as "正确 12，答成别的 …".
func VerdictCounts(answers []string) (string, error) {
	vs, err := Judge(answers)
	if err != nil {
		return "", err
	}
	n := map[Verdict]int{}
	for _, v := range vs {
		n[v]++
	}
	parts := make([]string, len(Verdicts))
	for i, v := range Verdicts {
		parts[i] = fmt.Sprintf("%s %d", v, n[v])
	}
	return strings.Join(parts, "，"), nil
}

// ShowSFT displays SFTRows(n) and the verdicts over every held-out question.
func (r *Run) ShowSFT(n int) error {
	h, rows, err := r.SFTRows(n)
	if err != nil {
		return err
	}
	if err := ShowTable(h, rows); err != nil {
		return err
	}
	for _, a := range []struct {
		name    string
		answers []string
	}{{"训练前", r.Before}, {"SFT 后", r.After}} {
		c, err := VerdictCounts(a.answers)
		if err != nil {
			return err
		}
		if err := Say("%s：全部 %d 个留出问题中，%s", a.name, len(a.answers), c); err != nil {
			return err
		}
	}
	return nil
}

// ShowDPO displays DPORows(n).
func (r *Run) ShowDPO(n int) error {
	h, rows, err := r.DPORows(n)
	if err != nil {
		return err
	}
	return ShowTable(h, rows)
}
