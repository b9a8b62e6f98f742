package align

import (
	"errors"
	"strings"

	"github.com/divellm/divellm/kernel/display"
	"github.com/divellm/divellm/llm"
)

// answerTokens is the longest answer generated, in tokens (fewer when the prompt leaves
// less room in the model's positions).
const answerTokens = 60

// Answer is the model's greedy answer to prompt (问：…答：): at most 60 tokens, cut at the
// end-of-text token or at a new line.
func Answer(m *llm.Model, prompt string) (string, error) {
	if m.Tokenizer == nil {
		return "", errors.New("the model has no tokenizer")
	}
	n := min(answerTokens, m.Config.MaxPos-len(m.Tokenizer.Encode(prompt)))
	if n < 1 {
		return "", errors.New("the prompt fills the model's positions")
	}
	g, err := m.Generate(prompt, llm.GenerateOptions{MaxTokens: n, StopAtEOS: true, TopN: 1})
	if err != nil {
		return "", err
	}
	text := g.Text
	if eos := m.Tokenizer.Specials().EOS; eos >= 0 {
		text, _, _ = strings.Cut(text, m.Tokenizer.IDToToken(eos))
	}
	text, _, _ = strings.Cut(text, "\n")
	return strings.TrimSpace(text), nil
}

// Answers returns the model's greedy answers to prompts ([Answer] for each). progress, if
// not nil, is called with the number of answers done.
func Answers(m *llm.Model, prompts []string, progress func(done int)) ([]string, error) {
	out := make([]string, len(prompts))
	for i, p := range prompts {
		a, err := Answer(m, p)
		if err != nil {
			return nil, err
		}
		out[i] = a
		if progress != nil {
			progress(i + 1)
		}
	}
	return out, nil
}

// answers returns the model's greedy answers to prompts, with a progress bar labelled
// label.
func answers(m *llm.Model, prompts []string, label string) ([]string, error) {
	bar := display.NewProgress(len(prompts), label)
	return Answers(m, prompts, func(done int) { bar.Update(done, nil) })
}
