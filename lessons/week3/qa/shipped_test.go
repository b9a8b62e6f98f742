package qa

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm/pipeline"
)

// The shipped bert-tiny-zh-qa loads as a BertForQuestionAnswering of at most 5 MB and
// answers the study plan's question with a span of its context: a short piece, at the
// character offsets it reports, inside the sentence about a full disk — not the whole
// context, not the question.
func TestShippedQAModel(t *testing.T) {
	dir, err := lessons.ModelDir(lessons.BERTTinyZHQA)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 5<<20 {
		t.Errorf("model.safetensors is %d bytes, over 5 MB", st.Size())
	}
	m, err := lessons.LoadModel(lessons.BERTTinyZHQA)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Heads().QA || m.Heads().MLM {
		t.Fatalf("heads %+v: want qa_outputs and no MLM head", m.Heads())
	}
	a, err := pipeline.QuestionAnswering(m, DiskQuestion, DiskContext, pipeline.QAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := []rune(DiskContext)
	if a.Answer == "" || a.Start < 0 || a.End > len(ctx) || string(ctx[a.Start:a.End]) != a.Answer {
		t.Fatalf("answer %+v is not the context's characters %d..%d", a, a.Start, a.End)
	}
	if n := utf8.RuneCountInString(a.Answer); n > len(ctx)/3 {
		t.Errorf("answer %q: %d of the context's %d characters, not a short span", a.Answer, n, len(ctx))
	}
	// The context's second sentence is the one that says what a full disk causes.
	sentence := "磁盘已满时，系统无法写入文件，进程挂起。"
	lo := strings.Index(DiskContext, sentence)
	lo = utf8.RuneCountInString(DiskContext[:lo])
	if a.Start < lo || a.End > lo+utf8.RuneCountInString(sentence) {
		t.Errorf("answer %q (characters %d..%d) is outside the sentence %q", a.Answer, a.Start, a.End, sentence)
	}
	// The ASCII "?" is [UNK] in this vocabulary: the full-width form gives the same span.
	b, err := pipeline.QuestionAnswering(m, strings.Replace(DiskQuestion, "?", "？", 1), DiskContext, pipeline.QAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Start != a.Start || b.End != a.End {
		t.Errorf("full-width question mark: %q, ASCII: %q", b.Answer, a.Answer)
	}
}

// On held-out test questions the shipped model's F1, recomputed here on a slice without
// the cache, is far above what a model that always answers with the context's first
// characters gets. (The model reaches about 0.45 here, short of the goal of 0.75:
// see models/README.md. The bound guards against a regression.)
func TestShippedQAModelHeldOut(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 80 questions")
	}
	m, err := lessons.LoadModel(lessons.BERTTinyZHQA)
	if err != nil {
		t.Fatal(err)
	}
	test, err := data.QA("test")
	if err != nil {
		t.Fatal(err)
	}
	var es []data.QAExample
	for i := 0; i < len(test); i += 5 {
		es = append(es, test[i])
	}
	s, err := Evaluate(m, es, pipeline.QAOptions{MaxAnswerLen: MaxAnswerLen})
	if err != nil {
		t.Fatal(err)
	}
	base := 0.0
	for _, e := range es {
		n := utf8.RuneCountInString(e.Answers.Text[0])
		_, f1 := Score(string([]rune(e.Context)[:n]), e.Answers.Text)
		base += f1
	}
	base /= float64(len(es))
	if s.F1 < 0.4 || s.F1 < base+0.25 {
		t.Errorf("held-out F1 %.3f on %d questions (first-characters baseline %.3f)", s.F1, len(es), base)
	}
}
