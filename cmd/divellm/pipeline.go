package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/pipeline"
)

// The pipeline command runs llm/pipeline's tasks with transformers' task names and
// output shapes (under --json, exactly transformers' JSON).

func init() {
	define(&command{name: "pipeline", summary: "run a Hugging Face pipeline task on a model (same outputs as transformers)",
		usage: "TASK --model MODEL [flags] (TASK: question-answering, fill-mask, text-classification, text-generation, feature-extraction)",
		subs:  map[string]*command{}, subNoun: "pipeline task"})
	defineSub("pipeline", &command{name: "question-answering", summary: "extract the answer to --question from --context (BERT with a qa_outputs head)",
		usage: "--model MODEL --question Q --context C [flags]", run: qaTask})
	defineSub("pipeline", &command{name: "fill-mask", summary: "candidates for each [MASK] of a text (BERT with an MLM head)",
		usage: "--model MODEL [--top-k 5] TEXT_WITH_[MASK]", run: fillMaskTask})
	defineSub("pipeline", &command{name: "text-classification", summary: "the labels of a text, best first (a model with a classification head)",
		usage: "--model MODEL [--top-k K] TEXT | --input FILE.jsonl", run: classifyTask})
	defineSub("pipeline", &command{name: "text-generation", summary: "continue a prompt (GPT; greedy by default, as transformers)",
		usage: "--model MODEL [--max-new-tokens N] TEXT", run: generateTask})
	defineSub("pipeline", &command{name: "feature-extraction", summary: "the last hidden state of a text, one vector per token",
		usage: "--model MODEL TEXT", run: featuresTask})
}

// qaResult is question-answering's output: one answer (an object) for --top-k 1, else a list.
type qaResult struct {
	answers []pipeline.Answer
	list    bool
}

func (r qaResult) MarshalJSON() ([]byte, error) {
	if !r.list && len(r.answers) == 1 {
		return marshalNoEscape(r.answers[0])
	}
	return marshalNoEscape(r.answers)
}

func (r qaResult) writeText(w io.Writer) error {
	rows := [][]string{{"#", "answer", "score", "chars"}}
	for i, a := range r.answers {
		rows = append(rows, []string{strconv.Itoa(i + 1), tokenLabel(a.Answer), fmt.Sprintf("%.4f", a.Score), fmt.Sprintf("%d-%d", a.Start, a.End)})
	}
	return writeTable(w, rows, 2)
}

// maxAnswers bounds question-answering's --top-k.
const maxAnswers = 100

func qaTask(c *cmdCtx) (any, error) {
	model := c.String("model", "", modelUsage+"; a BERT checkpoint with a qa_outputs head (e.g. uer/roberta-base-chinese-extractive-qa)")
	question := c.String("question", "", "the question")
	context := c.String("context", "", "the text to find the answer in")
	contextFile := c.String("context-file", "", "read the context from this UTF-8 file")
	topK := c.Int("top-k", 1, 1, maxAnswers, "answers to return (more than 1: a JSON list)")
	maxAnswer := c.Int("max-answer-len", 15, 1, llm.MaxPositions, "longest answer in tokens")
	maxSeq := c.Int("max-seq-len", 0, 0, llm.MaxPositions, "tokens per window, question included (0 = min(384, the model's positions), as transformers)")
	stride := c.Int("doc-stride", 0, 0, llm.MaxPositions, "context tokens shared by consecutive windows (0 = min(max-seq-len/2, 128))")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	const usage = "usage: divellm pipeline question-answering --model MODEL --question Q --context C"
	if len(rest) > 0 {
		return nil, usagef("unexpected argument %q (%s)", rest[0], usage)
	}
	if *contextFile != "" {
		if *context != "" {
			return nil, usagef("give --context or --context-file, not both")
		}
		if *context, err = readTextFile("context-file", *contextFile); err != nil {
			return nil, err
		}
	}
	if err := checkText(*question, "the question (--question)"); err != nil {
		return nil, usagef("%v; %s", err, usage)
	}
	if err := checkText(*context, "the context (--context)"); err != nil {
		return nil, usagef("%v; %s", err, usage)
	}
	if *maxSeq > 0 && *maxSeq < 4 {
		return nil, usagef("--max-seq-len %d: want 0 (the default) or at least 4", *maxSeq)
	}
	m, err := loadModel(*model)
	if err != nil {
		return nil, err
	}
	if m.Config.Arch != llm.BERT || !m.Heads().QA {
		return nil, usagef("--model %s has no question-answering head (qa_outputs); use a checkpoint such as uer/roberta-base-chinese-extractive-qa", *model)
	}
	o := pipeline.QAOptions{TopK: *topK, MaxAnswerLen: *maxAnswer, MaxSeqLen: *maxSeq, DocStride: *stride}
	if err := checkQAWindows(m, *question, o); err != nil {
		return nil, err
	}
	ans, err := pipeline.QuestionAnsweringTopK(m, *question, *context, o)
	if err != nil {
		return nil, err
	}
	return qaResult{answers: ans, list: *topK > 1}, nil
}

// checkQAWindows refuses window settings that leave no room for the context (a usage
// error), with transformers' defaults filled in as the pipeline fills them.
func checkQAWindows(m *llm.Model, question string, o pipeline.QAOptions) error {
	maxSeq := o.MaxSeqLen
	if maxSeq == 0 {
		maxSeq = 384
	}
	maxSeq = min(maxSeq, m.Config.MaxPos)
	stride := o.DocStride
	if stride == 0 {
		stride = min(maxSeq/2, 128)
	}
	q := len(m.Tokenizer.Encode(question))
	room := maxSeq - q - 3 // [CLS] question [SEP] context [SEP]
	switch {
	case room <= 0:
		return usagef("the question has %d tokens: too many for windows of %d tokens (raise --max-seq-len, up to the model's %d positions)", q, maxSeq, m.Config.MaxPos)
	case stride >= room:
		return usagef("--doc-stride %d must be smaller than the %d context tokens a window holds (--max-seq-len %d − %d question tokens − 3)", stride, room, maxSeq, q)
	}
	return nil
}

// fillMaskTaskResult is pipeline fill-mask's output: transformers' list of candidates for
// one [MASK], a list of such lists for several.
type fillMaskTaskResult [][]pipeline.FillMaskResult

func (r fillMaskTaskResult) MarshalJSON() ([]byte, error) {
	if len(r) == 1 {
		return marshalNoEscape(r[0])
	}
	return marshalNoEscape([][]pipeline.FillMaskResult(r))
}

func (r fillMaskTaskResult) writeText(w io.Writer) error {
	for i, cands := range r {
		if len(r) > 1 {
			fmt.Fprintf(w, "[MASK] %d:\n", i+1)
		}
		rows := [][]string{{"token", "id", "score", "sequence"}}
		for _, c := range cands {
			rows = append(rows, []string{tokenLabel(c.TokenStr), strconv.Itoa(c.Token), fmt.Sprintf("%.4f", c.Score), c.Sequence})
		}
		if err := writeTable(w, rows, 2); err != nil {
			return err
		}
	}
	return nil
}

func fillMaskTask(c *cmdCtx) (any, error) {
	in, err := fillMaskInput(c, "pipeline fill-mask", "e.g. bert-base-chinese")
	if err != nil {
		return nil, err
	}
	res, err := pipeline.FillMasks(in.m, in.text, in.topK)
	if err != nil {
		return nil, err
	}
	return fillMaskTaskResult(res), nil
}

// labelsResult is text-classification's output: transformers' [{label, score}] list.
type labelsResult []pipeline.Label

func (r labelsResult) writeText(w io.Writer) error {
	rows := [][]string{{"label", "score"}}
	for _, l := range r {
		rows = append(rows, []string{l.Label, fmt.Sprintf("%.4f", l.Score)})
	}
	return writeTable(w, rows, 2)
}

func classifyTask(c *cmdCtx) (any, error) {
	model := c.String("model", "", modelUsage+"; a checkpoint with a sequence-classification head")
	text := c.String("text", "", "text to classify (or pass it as arguments)")
	topK := c.Int("top-k", 0, 0, llm.MaxLabels, "labels to print, best first (0 = all)")
	input := c.String("input", "", "classify every line of this JSONL file ({\"text\": …} objects or JSON strings): one JSON line of labels per input line")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	var texts []string
	if *input != "" {
		if *text != "" || len(rest) > 0 {
			return nil, usagef("give the texts either with --input FILE or as text, not both")
		}
		if texts, err = readInputLines(*input); err != nil {
			return nil, err
		}
	} else {
		t, err := textInput("text", *text, rest, "usage: divellm pipeline text-classification --model MODEL TEXT (or --input FILE.jsonl)")
		if err != nil {
			return nil, err
		}
		texts = []string{t}
	}
	m, err := loadModel(*model)
	if err != nil {
		return nil, err
	}
	if !m.Heads().Classifier {
		return nil, usagef("--model %s has no classification head (classifier / score)", *model)
	}
	if *input == "" {
		labels, err := pipeline.TextClassification(m, texts[0])
		if err != nil {
			return nil, err
		}
		if *topK > 0 {
			labels = labels[:min(*topK, len(labels))]
		}
		return labelsResult(labels), nil
	}
	// One JSON line per input line, written as each batch is classified.
	const batch = 32
	for s := 0; s < len(texts); s += batch {
		res, err := pipeline.TextClassificationBatch(m, texts[s:min(s+batch, len(texts))])
		if err != nil {
			return nil, err
		}
		for _, labels := range res {
			if *topK > 0 {
				labels = labels[:min(*topK, len(labels))]
			}
			if err := writeJSON(c.stdout, labelsResult(labels)); err != nil {
				return nil, err
			}
		}
	}
	return nil, nil
}

// maxInputLines bounds --input: more lines than any one process should classify.
const maxInputLines = 1_000_000

// readInputLines reads --input FILE.jsonl: each line a JSON string or an object with a
// "text" string (other fields, such as a label, are ignored). A blank line, a line that is
// neither, or an empty text is a usage error naming the line.
func readInputLines(path string) ([]string, error) {
	data, err := readTextFile("input", path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	if len(lines) > maxInputLines {
		return nil, usagef("--input %s has %d lines, more than %d", path, len(lines), maxInputLines)
	}
	out := make([]string, len(lines))
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		var t string
		if err := json.Unmarshal([]byte(line), &t); err != nil {
			var obj struct {
				Text *string `json:"text"`
			}
			if err := json.Unmarshal([]byte(line), &obj); err != nil || obj.Text == nil {
				return nil, usagef("--input %s line %d: want a JSON string or an object with a \"text\" string", filepath.Base(path), i+1)
			}
			t = *obj.Text
		}
		if err := checkText(t, fmt.Sprintf("--input line %d", i+1)); err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

// generatedResult is text-generation's output: transformers' [{generated_text}] list.
type generatedResult []pipeline.GeneratedText

func (r generatedResult) writeText(w io.Writer) error {
	for _, g := range r {
		if _, err := fmt.Fprintln(w, g.GeneratedText); err != nil {
			return err
		}
	}
	return nil
}

func generateTask(c *cmdCtx) (any, error) {
	g := declareGenFlags(c, 0)
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	m, prompt, err := g.load(rest, "pipeline text-generation")
	if err != nil {
		return nil, err
	}
	res, err := pipeline.TextGeneration(m, prompt, g.options())
	if err != nil {
		return nil, err
	}
	return generatedResult(res), nil
}

// featuresResult is feature-extraction's output: [tokens][hidden].
type featuresResult [][]float32

func (r featuresResult) writeText(w io.Writer) error {
	if len(r) == 0 {
		_, err := fmt.Fprintln(w, "0 tokens")
		return err
	}
	fmt.Fprintf(w, "%d tokens × %d features (the last hidden state; --json prints every value)\n", len(r), len(r[0]))
	for i, v := range r {
		var parts []string
		for _, x := range v[:min(6, len(v))] {
			parts = append(parts, fmt.Sprintf("%+.4f", x))
		}
		more := ""
		if len(v) > 6 {
			more = " …"
		}
		fmt.Fprintf(w, "  %3d  [%s%s]\n", i, strings.Join(parts, " "), more)
	}
	return nil
}

func featuresTask(c *cmdCtx) (any, error) {
	model := c.String("model", "", modelUsage)
	text := c.String("text", "", "text (or pass it as arguments)")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	t, err := textInput("text", *text, rest, "usage: divellm pipeline feature-extraction --model MODEL TEXT")
	if err != nil {
		return nil, err
	}
	m, err := loadModel(*model)
	if err != nil {
		return nil, err
	}
	feats, err := pipeline.FeatureExtraction(m, t)
	if err != nil {
		return nil, err
	}
	return featuresResult(feats), nil
}
