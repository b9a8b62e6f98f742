package pipeline

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/sample"
	"github.com/divellm/divellm/llm/tokenizer"
)

// The references come from scripts/gen_pipeline_fixtures.py: torch forward passes of the
// same checkpoints and a numpy transcription of transformers' pipeline post-processing,
// with an independent re-implementation of BertTokenizer.

const hfDir = "../../testdata/hf"

type reference struct {
	QuestionAnswering []struct {
		Question     string  `json:"question"`
		Context      string  `json:"context"`
		TopK         int     `json:"top_k"`
		MaxAnswerLen int     `json:"max_answer_len"`
		MaxSeqLen    int     `json:"max_seq_len"`
		DocStride    int     `json:"doc_stride"`
		Windows      [][]int `json:"windows"`
		Answers      []struct {
			Answer
			StartToken int `json:"start_token"`
			EndToken   int `json:"end_token"`
		} `json:"answers"`
	} `json:"question_answering"`
	TextClassification []struct {
		Text   string  `json:"text"`
		IDs    []int   `json:"ids"`
		Labels []Label `json:"labels"`
	} `json:"text_classification"`
	FillMask []struct {
		Text    string           `json:"text"`
		IDs     []int            `json:"ids"`
		Results []FillMaskResult `json:"results"`
	} `json:"fill_mask"`
	FeatureExtraction []struct {
		Text   string      `json:"text"`
		IDs    []int       `json:"ids"`
		Hidden [][]float64 `json:"hidden"`
	} `json:"feature_extraction"`
	TextGeneration []struct {
		Prompt        string `json:"prompt"`
		MaxNewTokens  int    `json:"max_new_tokens"`
		PromptIDs     []int  `json:"prompt_ids"`
		GeneratedIDs  []int  `json:"generated_ids"`
		GeneratedText string `json:"generated_text"`
	} `json:"text_generation"`
}

func loadRef(t *testing.T) *reference {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(hfDir, "pipeline-ref", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func loadModel(t *testing.T, name string) *llm.Model {
	t.Helper()
	m, err := llm.Load(filepath.Join(hfDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestQuestionAnsweringMatchesTransformers(t *testing.T) {
	ref := loadRef(t)
	// tiny-bert has every head; tiny-bert-qa-zh is the same encoder saved as a hub QA
	// checkpoint (no pooler, position_ids buffer): both must give the same answers.
	for _, name := range []string{"tiny-bert", "tiny-bert-qa-zh"} {
		m := loadModel(t, name)
		for i, c := range ref.QuestionAnswering {
			t.Run(fmt.Sprintf("%s/%d", name, i), func(t *testing.T) {
				o := QAOptions{TopK: c.TopK, MaxAnswerLen: c.MaxAnswerLen, MaxSeqLen: c.MaxSeqLen, DocStride: c.DocStride}
				wins, err := QAWindows(m.Tokenizer, m.Tokenizer.Encode(c.Question), m.Tokenizer.Encode(c.Context), o)
				if err != nil {
					t.Fatal(err)
				}
				if len(wins) != len(c.Windows) {
					t.Fatalf("%d windows, reference %d", len(wins), len(c.Windows))
				}
				for w := range wins {
					if fmt.Sprint(wins[w].IDs) != fmt.Sprint(c.Windows[w]) {
						t.Fatalf("window %d ids\n got %v\nwant %v", w, wins[w].IDs, c.Windows[w])
					}
				}
				got, err := QuestionAnsweringTopK(m, c.Question, c.Context, o)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(c.Answers) {
					t.Fatalf("%d answers, reference %d", len(got), len(c.Answers))
				}
				for k, want := range c.Answers {
					g := got[k]
					if g.Start != want.Start || g.End != want.End || g.Answer != want.Answer.Answer ||
						g.StartToken != want.StartToken || g.EndToken != want.EndToken || !near(g.Score, want.Score, 1e-4) {
						t.Errorf("answer %d: got %+v, want %+v (tokens %d..%d)", k, g, want.Answer, want.StartToken, want.EndToken)
					}
					if string([]rune(c.Context)[g.Start:g.End]) != g.Answer {
						t.Errorf("answer %q is not context[%d:%d]", g.Answer, g.Start, g.End)
					}
				}
				if c.TopK == 1 {
					best, err := QuestionAnswering(m, c.Question, c.Context, o)
					if err != nil || best.Answer != got[0].Answer {
						t.Errorf("QuestionAnswering = %+v, %v; want %+v", best, err, got[0])
					}
				}
			})
		}
	}
}

func TestTextClassificationMatchesTransformers(t *testing.T) {
	m := loadModel(t, "tiny-bert")
	for _, c := range loadRef(t).TextClassification {
		ids, _ := tokenizer.EncodeSingle(m.Tokenizer, c.Text, 0)
		if fmt.Sprint(ids) != fmt.Sprint(c.IDs) {
			t.Fatalf("%q: ids %v, reference %v", c.Text, ids, c.IDs)
		}
		got, err := TextClassification(m, c.Text)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.Labels) {
			t.Fatalf("%q: %d labels, want %d", c.Text, len(got), len(c.Labels))
		}
		sum := 0.0
		for i, want := range c.Labels {
			sum += got[i].Score
			if got[i].Label != want.Label || !near(got[i].Score, want.Score, 1e-4) {
				t.Errorf("%q label %d: got %+v, want %+v", c.Text, i, got[i], want)
			}
		}
		if !near(sum, 1, 1e-9) {
			t.Errorf("%q: scores sum to %g", c.Text, sum)
		}
	}
}

func TestFillMaskMatchesTransformers(t *testing.T) {
	m := loadModel(t, "tiny-bert")
	for _, c := range loadRef(t).FillMask {
		got, err := FillMask(m, c.Text, len(c.Results))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.Results) {
			t.Fatalf("%q: %d results, want %d", c.Text, len(got), len(c.Results))
		}
		for i, want := range c.Results {
			g := got[i]
			if g.Token != want.Token || g.TokenStr != want.TokenStr || g.Sequence != want.Sequence || !near(g.Score, want.Score, 1e-4) {
				t.Errorf("%q result %d: got %+v, want %+v", c.Text, i, g, want)
			}
		}
	}
	if _, err := FillMask(m, "我[MASK]你[MASK]", 3); err == nil {
		t.Error("FillMask accepted two masks")
	}
	all, err := FillMasks(m, "我[MASK]你[MASK]", 3)
	if err != nil || len(all) != 2 || len(all[1]) != 3 {
		t.Fatalf("FillMasks: %v, %v", all, err)
	}
	// With two masks each sequence fills one and keeps the other and the specials.
	if s := all[0][0].Sequence; s != "[CLS] 我 "+all[0][0].TokenStr+" 你 [MASK] [SEP]" {
		t.Errorf("two-mask sequence %q", s)
	}
	if _, err := FillMask(m, "没有掩码", 3); err == nil {
		t.Error("FillMask accepted a text without [MASK]")
	}
}

func TestFeatureExtractionMatchesTransformers(t *testing.T) {
	m := loadModel(t, "tiny-bert")
	for _, c := range loadRef(t).FeatureExtraction {
		got, err := FeatureExtraction(m, c.Text)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(c.Hidden) {
			t.Fatalf("%d tokens, want %d", len(got), len(c.Hidden))
		}
		for i := range got {
			for j := range got[i] {
				if !near(float64(got[i][j]), c.Hidden[i][j], 1e-4) {
					t.Fatalf("token %d dim %d: %g, want %g", i, j, got[i][j], c.Hidden[i][j])
				}
			}
		}
	}
}

func TestTextGenerationBertVocabGPT2(t *testing.T) {
	// tiny-gpt2-zh: model_type gpt2 with vocab.txt and tokenizer_class BertTokenizer, a
	// stored lm_head.weight and attn.bias buffers, like uer/gpt2-chinese-cluecorpussmall.
	m := loadModel(t, "tiny-gpt2-zh")
	if m.Config.Arch != llm.GPT || m.Tokenizer == nil || m.Tokenizer.Kind() != "wordpiece" {
		t.Fatalf("loaded %s with tokenizer %v", m.Config.Arch, m.Tokenizer)
	}
	for _, c := range loadRef(t).TextGeneration {
		if ids := tokenizer.IDs(m.Tokenizer.Encode(c.Prompt)); fmt.Sprint(ids) != fmt.Sprint(c.PromptIDs) {
			t.Fatalf("%q: prompt ids %v, want %v", c.Prompt, ids, c.PromptIDs)
		}
		res, err := m.GenerateIDs(c.PromptIDs, llm.GenerateOptions{MaxTokens: c.MaxNewTokens})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(res.IDs) != fmt.Sprint(c.GeneratedIDs) {
			t.Fatalf("%q: generated %v, want %v", c.Prompt, res.IDs, c.GeneratedIDs)
		}
		got, err := TextGeneration(m, c.Prompt, llm.GenerateOptions{MaxTokens: c.MaxNewTokens})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].GeneratedText != c.GeneratedText {
			t.Errorf("%q: generated_text %q, want %q", c.Prompt, got, c.GeneratedText)
		}
	}
}

func TestWrongModelForTask(t *testing.T) {
	gpt := loadModel(t, "tiny-gpt2-zh")
	qa := loadModel(t, "tiny-bert-qa-zh")
	bert := loadModel(t, "tiny-bert")
	if _, err := QuestionAnswering(gpt, "谁？", "我们", QAOptions{}); err == nil {
		t.Error("QA on a GPT model")
	}
	if _, err := FillMask(qa, "我[MASK]", 1); err == nil {
		t.Error("fill-mask on a model without MLM head")
	}
	if _, err := TextClassification(qa, "我们"); err == nil {
		t.Error("classification on a model without classifier")
	}
	if _, err := TextGeneration(bert, "我们", llm.GenerateOptions{MaxTokens: 2}); err == nil {
		t.Error("generation with an encoder")
	}
	if _, err := QuestionAnswering(bert, "", "我们", QAOptions{}); err == nil {
		t.Error("empty question accepted")
	}
	// A question that leaves no room for the context, and a stride as large as a window.
	if _, err := QuestionAnswering(bert, "我们爱北京我们爱北京", "今天天气很好", QAOptions{MaxSeqLen: 12}); err == nil {
		t.Error("question longer than the window accepted")
	}
	if _, err := QuestionAnswering(bert, "谁", "今天天气很好", QAOptions{MaxSeqLen: 10, DocStride: 6}); err == nil {
		t.Error("doc stride ≥ window accepted")
	}
	if _, err := FeatureExtraction(&llm.Model{}, "x"); err == nil {
		t.Error("model without tokenizer accepted")
	}
}

// GoMLX keeps at most 32 compiled shapes per executable; without padding to buckets the
// 33rd distinct input length would fail.
func TestManyInputLengthsReuseGraphs(t *testing.T) {
	m := loadModel(t, "tiny-bert")
	for n := 1; n <= 40; n++ {
		text := ""
		for range n {
			text += "我"
		}
		if _, err := FillMask(m, text+"[MASK]", 1); err != nil {
			t.Fatalf("length %d: %v", n, err)
		}
		if _, err := QuestionAnswering(m, "谁？", text+"爱北京", QAOptions{}); err != nil {
			t.Fatalf("QA length %d: %v", n, err)
		}
	}
}

// GPT-2 sequence classification reads the score head at the last real token ([SEP] here);
// padding to the bucket must not move it.
func TestTextClassificationGPTLastToken(t *testing.T) {
	tokModel := loadModel(t, "tiny-gpt2-zh")
	c := llm.TinyGPT(tokModel.Config.VocabSize)
	c.NumLabels = 2
	m, err := llm.New(c, llm.HeadSet{Classifier: true}, 3)
	if err != nil {
		t.Fatal(err)
	}
	m.Tokenizer = tokModel.Tokenizer
	const text = "今天天气很好"
	// As transformers' tokenizer(text): a BERT vocabulary adds [CLS] … [SEP], also for GPT-2.
	ids, _ := tokenizer.EncodeSingle(m.Tokenizer, text, 0)
	if ids[0] != m.Tokenizer.Specials().CLS {
		t.Fatalf("ids %v do not start with [CLS]", ids)
	}
	out, err := m.Forward(llm.Batch{IDs: [][]int{ids}}, llm.ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := sample.Probs(out.Classes.Row(0, len(ids)-1))
	got, err := TextClassification(m, text)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range got {
		i := 0
		fmt.Sscanf(l.Label, "LABEL_%d", &i)
		if !near(l.Score, want[i], 1e-5) {
			t.Errorf("%s: %g, want %g (unpadded forward)", l.Label, l.Score, want[i])
		}
	}
	if got[0].Score < got[1].Score || got[0].Label[:6] != "LABEL_" {
		t.Errorf("labels %+v", got)
	}
}
