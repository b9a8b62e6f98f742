package pipeline

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/sample"
	"github.com/divellm/divellm/llm/tokenizer"
)

// QAOptions are the settings of [QuestionAnswering], named as transformers'
// QuestionAnsweringPipeline arguments. Zero values take transformers' defaults.
type QAOptions struct {
	TopK         int // answers to return (default 1)
	MaxAnswerLen int // longest answer, in tokens (default 15)
	MaxSeqLen    int // tokens per window, question and specials included (default min(384, model positions))
	DocStride    int // context tokens shared by consecutive windows (default min(MaxSeqLen/2, 128))
}

// Answer is one extracted answer (transformers' question-answering output).
type Answer struct {
	Score  float64 `json:"score"`  // softmax(start)[s] · softmax(end)[e] in the answer's window
	Answer string  `json:"answer"` // context[Start:End]
	Start  int     `json:"start"`  // character (code point) offset of the answer in the context
	End    int     `json:"end"`    // character offset just after the answer

	Window     int `json:"-"` // which window of the context the answer came from
	StartToken int `json:"-"` // token index of the answer's first token in that window
	EndToken   int `json:"-"` // token index of its last token
}

// QAWindow is one model input of a question-answering run: [CLS] question [SEP]
// context[ContextStart:ContextEnd] [SEP].
type QAWindow struct {
	IDs          []int
	TypeIDs      []int
	ContextStart int // index of the window's first context token in the whole context's tokens
	ContextEnd   int
	Offset       int // position of the first context token in IDs (= question tokens + 2)
}

// QuestionAnswering extracts the best answer to question from context with a BERT model
// that has a qa_outputs head. See the package documentation for the exact rule.
func QuestionAnswering(m *llm.Model, question, context string, o QAOptions) (Answer, error) {
	o.TopK = 1
	ans, err := QuestionAnsweringTopK(m, question, context, o)
	if err != nil {
		return Answer{}, err
	}
	if len(ans) == 0 {
		return Answer{}, fmt.Errorf("question-answering: no answer span in the context")
	}
	return ans[0], nil
}

// QuestionAnsweringTopK returns the o.TopK best answers, best first.
func QuestionAnsweringTopK(m *llm.Model, question, context string, o QAOptions) ([]Answer, error) {
	if err := needTokenizer("question-answering", m); err != nil {
		return nil, err
	}
	if m.Config.Arch != llm.BERT || !m.Heads().QA {
		return nil, fmt.Errorf("question-answering: needs a BERT model with a qa_outputs head")
	}
	if strings.TrimSpace(question) == "" || strings.TrimSpace(context) == "" {
		return nil, fmt.Errorf("question-answering: the question and the context must not be empty")
	}
	o, err := qaDefaults(o, m.Config.MaxPos)
	if err != nil {
		return nil, err
	}
	tok := m.Tokenizer
	qToks, cToks := tok.Encode(question), tok.Encode(context)
	if len(cToks) == 0 {
		return nil, fmt.Errorf("question-answering: the context has no tokens")
	}
	words := wordIDs(tok, cToks)
	// One window at a time (Forward pads each to its bucket: shapes stay few), and only
	// the TopK best answers so far are kept: memory does not grow with the number of
	// windows. Start and End hold byte offsets until the end.
	var best []Answer
	w := 0
	err = eachQAWindow(tok, qToks, cToks, o, func(win QAWindow) error {
		out, err := forwardOne(m, win.IDs, win.TypeIDs, false)
		if err != nil {
			return fmt.Errorf("question-answering: %w", err)
		}
		n := len(win.IDs)
		desired := make([]bool, n)
		desired[0] = true // [CLS] stays in the softmax, as transformers keeps it unmasked
		for i := win.Offset; i < win.Offset+win.ContextEnd-win.ContextStart; i++ {
			desired[i] = true
		}
		for _, sp := range BestSpans(out.QAStart.Row(0)[:n], out.QAEnd.Row(0)[:n], desired, o.TopK, o.MaxAnswerLen) {
			// Token → word → characters, within this window (align_to_words).
			ts, te := win.ContextStart+sp.Start-win.Offset, win.ContextStart+sp.End-win.Offset
			start, end := alignToWords(cToks, words, win.ContextStart, win.ContextEnd, ts, te)
			best = append(best, Answer{Score: sp.Score, Start: start, End: end, Window: w, StartToken: sp.Start, EndToken: sp.End})
		}
		// Stable: on equal scores the earlier window (then the earlier span) stays first,
		// exactly as one sort of every window's spans would order them.
		sort.SliceStable(best, func(a, b int) bool { return best[a].Score > best[b].Score })
		best = best[:min(o.TopK, len(best))]
		w++
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range best {
		a := &best[i]
		a.Answer = context[a.Start:a.End]
		a.Start = utf8.RuneCountInString(context[:a.Start])
		a.End = a.Start + utf8.RuneCountInString(a.Answer)
	}
	return best, nil
}

// qaDefaults fills transformers' defaults and checks the options.
func qaDefaults(o QAOptions, maxPos int) (QAOptions, error) {
	if o.TopK == 0 {
		o.TopK = 1
	}
	if o.MaxAnswerLen == 0 {
		o.MaxAnswerLen = 15
	}
	if o.MaxSeqLen == 0 {
		o.MaxSeqLen = 384
	}
	o.MaxSeqLen = min(o.MaxSeqLen, maxPos)
	if o.DocStride == 0 {
		o.DocStride = min(o.MaxSeqLen/2, 128)
	}
	if o.TopK < 0 || o.MaxAnswerLen < 0 || o.MaxSeqLen < 4 || o.DocStride < 0 {
		return o, fmt.Errorf("question-answering: top-k, max answer length and doc stride must be ≥ 0, max sequence length ≥ 4 (got %+v)", o)
	}
	return o, nil
}

// QAWindows cuts the context tokens into model inputs "[CLS] q [SEP] window [SEP]" of at
// most o.MaxSeqLen tokens, consecutive windows sharing o.DocStride context tokens (the
// Rust tokenizer's overflow rule; see the package documentation).
func QAWindows(tok tokenizer.Tokenizer, question, context []tokenizer.Token, o QAOptions) ([]QAWindow, error) {
	var out []QAWindow
	err := eachQAWindow(tok, question, context, o, func(w QAWindow) error {
		out = append(out, w)
		return nil
	})
	return out, err
}

// eachQAWindow calls yield with the windows of [QAWindows] one at a time, building each
// only when it is needed; it stops at yield's first error.
func eachQAWindow(tok tokenizer.Tokenizer, question, context []tokenizer.Token, o QAOptions, yield func(QAWindow) error) error {
	sp := tok.Specials()
	if sp.CLS < 0 || sp.SEP < 0 {
		return fmt.Errorf("question-answering: the tokenizer has no [CLS]/[SEP] tokens")
	}
	L := o.MaxSeqLen - len(question) - 3
	if L <= 0 {
		return fmt.Errorf("question-answering: the question has %d tokens, too many for windows of %d tokens", len(question), o.MaxSeqLen)
	}
	if o.DocStride >= L {
		return fmt.Errorf("question-answering: doc stride %d must be smaller than the %d context tokens a window holds (max sequence length %d − %d question tokens − 3)",
			o.DocStride, L, o.MaxSeqLen, len(question))
	}
	head := []int{sp.CLS}
	head = append(head, tokenizer.IDs(question)...)
	head = append(head, sp.SEP)
	for start := 0; ; start += L - o.DocStride {
		stop := min(start+L, len(context))
		w := QAWindow{ContextStart: start, ContextEnd: stop, Offset: len(head)}
		w.IDs = append(append([]int(nil), head...), tokenizer.IDs(context[start:stop])...)
		w.IDs = append(w.IDs, sp.SEP)
		w.TypeIDs = make([]int, len(w.IDs))
		for i := len(head); i < len(w.IDs); i++ {
			w.TypeIDs[i] = 1
		}
		if err := yield(w); err != nil {
			return err
		}
		if stop == len(context) {
			return nil
		}
	}
}

// Span is a candidate answer: token positions Start ≤ End in a window and its score.
type Span struct {
	Start, End int
	Score      float64
}

// BestSpans is transformers' select_starts_ends + decode_spans for one window. start and
// end are the window's logits; desired marks the tokens kept in the softmax ([CLS] and the
// context). Logits of the other tokens become −10000, both softmaxes are taken, [CLS]'s
// probabilities are then set to 0, and the topK spans with both ends desired, s ≤ e and
// e − s < maxAnswerLen are returned, best first (ties: smaller s, then smaller e, as
// numpy's argmax over the flattened start × end matrix).
func BestSpans(start, end []float32, desired []bool, topK, maxAnswerLen int) []Span {
	n := len(start)
	ps, pe := maskedSoftmax(start, desired), maskedSoftmax(end, desired)
	ps[0], pe[0] = 0, 0
	var spans []Span
	for s := 1; s < n; s++ {
		if !desired[s] {
			continue
		}
		for e := s; e < min(n, s+maxAnswerLen); e++ {
			if desired[e] {
				spans = append(spans, Span{Start: s, End: e, Score: ps[s] * pe[e]})
			}
		}
	}
	sort.SliceStable(spans, func(a, b int) bool { return spans[a].Score > spans[b].Score })
	return spans[:min(topK, len(spans))]
}

// maskedSoftmax is softmax(where(desired, x, −10000)).
func maskedSoftmax(x []float32, desired []bool) []float64 {
	v := make([]float32, len(x))
	for i := range x {
		v[i] = -10000
		if desired[i] {
			v[i] = x[i]
		}
	}
	p := sample.Probs(v)
	for i := range p {
		if math.IsNaN(p[i]) {
			p[i] = 0
		}
	}
	return p
}

// alignToWords widens the context tokens ts..te to whole words, looking only at the
// tokens lo..hi-1 of the window (token_to_word then word_to_chars), and returns the byte
// span [start, end) of the context it covers.
func alignToWords(toks []tokenizer.Token, words []int, lo, hi, ts, te int) (start, end int) {
	start, end = toks[ts].Start, toks[te].End
	for i := lo; i < hi; i++ {
		if words[i] == words[ts] {
			start = min(start, toks[i].Start)
		}
		if words[i] == words[te] {
			end = max(end, toks[i].End)
		}
	}
	return start, end
}

// wordIDs numbers the words of WordPiece tokens: a "##" piece belongs to the word of the
// token before it. Other tokenizers give every token its own word (transformers then
// falls back to token offsets too).
func wordIDs(tok tokenizer.Tokenizer, toks []tokenizer.Token) []int {
	ids := make([]int, len(toks))
	w := -1
	for i, t := range toks {
		cont := tok.Kind() == "wordpiece" && i > 0 && strings.HasPrefix(t.Text, "##") && t.Start == toks[i-1].End
		if !cont {
			w++
		}
		ids[i] = w
	}
	return ids
}
