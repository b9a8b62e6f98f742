package main

import (
	"io"
	"os"
	"sort"
	"strings"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/hub"
	"github.com/divellm/divellm/llm/pipeline"
)

func init() {
	register("pipeline", "run a Hugging Face pipeline on a checkpoint, JSON out: pipeline TASK --model DIR … (question-answering, fill-mask, text-classification, text-generation, feature-extraction)", pipelineCmd)
}

// pipelineTasks maps task names (transformers' names) to their runners.
var pipelineTasks = map[string]func(args []string, w io.Writer) error{
	"question-answering":  qaTask,
	"fill-mask":           fillMaskTask,
	"text-classification": classifyTask,
	"text-generation":     generateTask,
	"feature-extraction":  featuresTask,
}

func taskNames() string {
	names := make([]string, 0, len(pipelineTasks))
	for n := range pipelineTasks {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func pipelineCmd(args []string, w io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("usage: divellm pipeline TASK --model DIR … (TASK: %s)", taskNames())
	}
	run, ok := pipelineTasks[args[0]]
	if !ok {
		return usagef("unknown pipeline task %q (want one of %s)", args[0], taskNames())
	}
	return run(args[1:], w)
}

// pipelineModel loads --model: a checkpoint directory, or a model id already in the
// Hugging Face cache (after `divellm download ID`).
func pipelineModel(model string) (*llm.Model, error) {
	if _, err := os.Stat(model); err != nil && model != "" && hub.CheckModelID(model) == nil {
		if snap, _, err := hub.CachedSnapshot(hub.CacheDir(), model, "main"); err == nil {
			model = snap
		} else {
			return nil, usagef("--model %s: no such directory, and not in the Hugging Face cache (run: divellm download %s --dir models/%s)",
				model, model, model[strings.LastIndex(model, "/")+1:])
		}
	}
	return loadModel(model)
}

// textArg returns --text, or the positional arguments joined by spaces.
func textArg(flagValue string, rest []string, usage string) (string, error) {
	if flagValue != "" && len(rest) > 0 {
		return "", usagef("give the text either with --text or as an argument, not both")
	}
	text := flagValue
	if text == "" {
		text = strings.Join(rest, " ")
	}
	if strings.TrimSpace(text) == "" {
		return "", usagef("%s (the text is empty)", usage)
	}
	return text, nil
}

func qaTask(args []string, w io.Writer) error {
	fs := newFlags("pipeline question-answering")
	model := fs.String("model", "", "BERT checkpoint with a qa_outputs head (e.g. uer/roberta-base-chinese-extractive-qa)")
	question := fs.String("question", "", "the question")
	context := fs.String("context", "", "the text to find the answer in")
	contextFile := fs.String("context-file", "", "read the context from this UTF-8 file")
	topK := fs.Int("top-k", 1, "answers to return (more than 1: a JSON array)")
	maxAnswer := fs.Int("max-answer-len", 15, "longest answer in tokens")
	maxSeq := fs.Int("max-seq-len", 0, "tokens per window, question included (0 = min(384, model positions), as transformers)")
	stride := fs.Int("doc-stride", 0, "context tokens shared by consecutive windows (0 = min(max-seq-len/2, 128))")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	const usage = "usage: divellm pipeline question-answering --model DIR --question Q --context C"
	if len(rest) > 0 {
		return usagef("unexpected argument %q (%s)", rest[0], usage)
	}
	if *contextFile != "" {
		if *context != "" {
			return usagef("give --context or --context-file, not both")
		}
		if *context, err = readTextFile("context-file", *contextFile); err != nil {
			return err
		}
	}
	if strings.TrimSpace(*question) == "" || strings.TrimSpace(*context) == "" {
		return usagef("%s (the question and the context must not be empty)", usage)
	}
	if *topK <= 0 || *maxAnswer <= 0 || *maxSeq < 0 || (*maxSeq > 0 && *maxSeq < 4) || *stride < 0 {
		return usagef("--top-k and --max-answer-len must be positive, --max-seq-len 0 or ≥ 4, --doc-stride ≥ 0")
	}
	m, err := pipelineModel(*model)
	if err != nil {
		return err
	}
	if m.Config.Arch != llm.BERT || !m.Heads().QA {
		return usagef("--model %s has no question-answering head (qa_outputs); use a checkpoint such as uer/roberta-base-chinese-extractive-qa", *model)
	}
	ans, err := pipeline.QuestionAnsweringTopK(m, *question, *context, pipeline.QAOptions{TopK: *topK, MaxAnswerLen: *maxAnswer, MaxSeqLen: *maxSeq, DocStride: *stride})
	if err != nil {
		return usagef("%v", err)
	}
	if *topK == 1 && len(ans) == 1 {
		return writeJSON(w, ans[0])
	}
	return writeJSON(w, ans)
}

func fillMaskTask(args []string, w io.Writer) error {
	fs := newFlags("pipeline fill-mask")
	model := fs.String("model", "", "BERT checkpoint with an MLM head (e.g. bert-base-chinese)")
	text := fs.String("text", "", "text with [MASK] (or pass it as an argument)")
	topK := fs.Int("top-k", 5, "candidates per [MASK]")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	t, err := textArg(*text, rest, "usage: divellm pipeline fill-mask --model DIR TEXT_WITH_[MASK]")
	if err != nil {
		return err
	}
	if *topK <= 0 {
		return usagef("--top-k must be positive")
	}
	m, err := pipelineModel(*model)
	if err != nil {
		return err
	}
	if m.Config.Arch != llm.BERT || !m.Heads().MLM {
		return usagef("--model %s is not a BERT model with a masked-LM head", *model)
	}
	res, err := pipeline.FillMasks(m, t, *topK)
	if err != nil {
		return usagef("%v", err)
	}
	if len(res) == 1 {
		return writeJSON(w, res[0])
	}
	return writeJSON(w, res)
}

func classifyTask(args []string, w io.Writer) error {
	fs := newFlags("pipeline text-classification")
	model := fs.String("model", "", "checkpoint with a sequence-classification head")
	text := fs.String("text", "", "text to classify (or pass it as an argument)")
	topK := fs.Int("top-k", 0, "labels to print, best first (0 = all)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	t, err := textArg(*text, rest, "usage: divellm pipeline text-classification --model DIR TEXT")
	if err != nil {
		return err
	}
	if *topK < 0 {
		return usagef("--top-k must be ≥ 0")
	}
	m, err := pipelineModel(*model)
	if err != nil {
		return err
	}
	if !m.Heads().Classifier {
		return usagef("--model %s has no classification head (classifier / score)", *model)
	}
	labels, err := pipeline.TextClassification(m, t)
	if err != nil {
		return err
	}
	if *topK > 0 {
		labels = labels[:min(*topK, len(labels))]
	}
	return writeJSON(w, labels)
}

func generateTask(args []string, w io.Writer) error {
	fs := newFlags("pipeline text-generation")
	model := fs.String("model", "", "GPT checkpoint (e.g. uer/gpt2-chinese-cluecorpussmall)")
	prompt := fs.String("prompt", "", "text to continue (or pass it as an argument)")
	maxNew := fs.Int("max-new-tokens", 32, "tokens to generate")
	temperature := fs.Float64("temperature", 0, "sampling temperature (0 = greedy)")
	topK := fs.Int("top-k", 0, "sample among the K most likely tokens (0 = all)")
	topP := fs.Float64("top-p", 0, "nucleus sampling mass (0 = off)")
	seed := fs.Uint64("seed", 1, "sampling seed")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	p, err := textArg(*prompt, rest, "usage: divellm pipeline text-generation --model DIR PROMPT")
	if err != nil {
		return err
	}
	if *maxNew <= 0 || *temperature < 0 || *topK < 0 || *topP < 0 || *topP > 1 {
		return usagef("--max-new-tokens must be positive, --temperature and --top-k ≥ 0, --top-p in [0, 1]")
	}
	m, err := pipelineModel(*model)
	if err != nil {
		return err
	}
	if m.Config.Arch != llm.GPT {
		return usagef("--model %s is a %s encoder; text-generation needs a GPT model", *model, m.Config.Arch)
	}
	res, err := pipeline.TextGeneration(m, p, llm.GenerateOptions{MaxTokens: *maxNew, Temperature: *temperature, TopK: *topK, TopP: *topP, Seed: *seed})
	if err != nil {
		return usagef("%v", err)
	}
	return writeJSON(w, res)
}

func featuresTask(args []string, w io.Writer) error {
	fs := newFlags("pipeline feature-extraction")
	model := fs.String("model", "", "checkpoint directory")
	text := fs.String("text", "", "text (or pass it as an argument)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	t, err := textArg(*text, rest, "usage: divellm pipeline feature-extraction --model DIR TEXT")
	if err != nil {
		return err
	}
	m, err := pipelineModel(*model)
	if err != nil {
		return err
	}
	feats, err := pipeline.FeatureExtraction(m, t)
	if err != nil {
		return err
	}
	return writeJSON(w, feats)
}
