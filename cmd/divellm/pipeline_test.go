package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

const hfFixtures = "../../testdata/hf"

// pipelineRef reads the torch/numpy references of scripts/gen_pipeline_fixtures.py.
func pipelineRef(t *testing.T) map[string][]map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hfFixtures, "pipeline-ref", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref map[string]any
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]any{}
	for k, v := range ref {
		if list, ok := v.([]any); ok {
			for _, x := range list {
				out[k] = append(out[k], x.(map[string]any))
			}
		}
	}
	return out
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestPipelineQuestionAnsweringCLI(t *testing.T) {
	ref := pipelineRef(t)["question_answering"][0] // 北京在哪里？ (windows of 64, stride 16)
	want := ref["answers"].([]any)[0].(map[string]any)
	out := mustRun(t, "pipeline", "question-answering", "--json", "--model", filepath.Join(hfFixtures, "tiny-bert-qa-zh"),
		"--question", ref["question"].(string), "--context", ref["context"].(string), "--max-seq-len", "64", "--doc-stride", "16")
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if k := keys(got); !reflect.DeepEqual(k, []string{"answer", "end", "score", "start"}) {
		t.Fatalf("keys %v, want exactly answer, end, score, start", k)
	}
	if got["answer"] != want["answer"] || got["start"] != want["start"] || got["end"] != want["end"] ||
		math.Abs(got["score"].(float64)-want["score"].(float64)) > 1e-4 {
		t.Errorf("got %v, want %v", got, want)
	}

	// --top-k 3 on a long context (several windows): a JSON array, equal to the reference.
	ref = pipelineRef(t)["question_answering"][4]
	ctxFile := filepath.Join(t.TempDir(), "ctx.txt")
	os.WriteFile(ctxFile, []byte(ref["context"].(string)), 0o644)
	out = mustRun(t, "pipeline", "question-answering", "--json", "--model", filepath.Join(hfFixtures, "tiny-bert"), "--question", ref["question"].(string),
		"--context-file", ctxFile, "--top-k", "3", "--max-seq-len", "40", "--doc-stride", "16")
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	wantList := ref["answers"].([]any)
	if len(list) != len(wantList) {
		t.Fatalf("%d answers, want %d", len(list), len(wantList))
	}
	for i, w := range wantList {
		w := w.(map[string]any)
		if list[i]["answer"] != w["answer"] || list[i]["start"] != w["start"] {
			t.Errorf("answer %d: %v, want %v", i, list[i], w)
		}
	}
}

func TestPipelineOtherTasksCLI(t *testing.T) {
	refs := pipelineRef(t)
	bert := filepath.Join(hfFixtures, "tiny-bert")

	fm := refs["fill_mask"][0]
	var fills []map[string]any
	json.Unmarshal([]byte(mustRun(t, "pipeline", "fill-mask", "--json", "--model", bert, "--top-k", "5", fm["text"].(string))), &fills)
	wantFills := fm["results"].([]any)
	if len(fills) != 5 {
		t.Fatalf("fill-mask: %v", fills)
	}
	for i, w := range wantFills {
		w := w.(map[string]any)
		if k := keys(fills[i]); !reflect.DeepEqual(k, []string{"score", "sequence", "token", "token_str"}) {
			t.Fatalf("fill-mask keys %v", k)
		}
		if fills[i]["token"] != w["token"] || fills[i]["sequence"] != w["sequence"] || math.Abs(fills[i]["score"].(float64)-w["score"].(float64)) > 1e-4 {
			t.Errorf("fill-mask %d: %v, want %v", i, fills[i], w)
		}
	}

	tc := refs["text_classification"][0]
	var labels []map[string]any
	json.Unmarshal([]byte(mustRun(t, "pipeline", "text-classification", "--json", "--model", bert, "--text", tc["text"].(string))), &labels)
	for i, w := range tc["labels"].([]any) {
		w := w.(map[string]any)
		if labels[i]["label"] != w["label"] || math.Abs(labels[i]["score"].(float64)-w["score"].(float64)) > 1e-4 {
			t.Errorf("label %d: %v, want %v", i, labels[i], w)
		}
	}
	json.Unmarshal([]byte(mustRun(t, "pipeline", "text-classification", "--json", "--model", bert, "--top-k", "1", tc["text"].(string))), &labels)
	if len(labels) != 1 {
		t.Errorf("--top-k 1 gave %v", labels)
	}

	tg := refs["text_generation"][0]
	var gen []map[string]any
	json.Unmarshal([]byte(mustRun(t, "pipeline", "text-generation", "--json", "--model", filepath.Join(hfFixtures, "tiny-gpt2-zh"),
		"--max-new-tokens", "8", tg["prompt"].(string))), &gen)
	if len(gen) != 1 || gen[0]["generated_text"] != tg["generated_text"] {
		t.Errorf("text-generation %v, want %q", gen, tg["generated_text"])
	}

	fe := refs["feature_extraction"][0]
	var feats [][]float64
	json.Unmarshal([]byte(mustRun(t, "pipeline", "feature-extraction", "--json", "--model", bert, fe["text"].(string))), &feats)
	want := fe["hidden"].([]any)
	if len(feats) != len(want) || len(feats[0]) != 32 {
		t.Fatalf("feature-extraction shape %d×%d", len(feats), len(feats[0]))
	}
	if math.Abs(feats[1][3]-want[1].([]any)[3].(float64)) > 1e-4 {
		t.Errorf("feature [1][3] = %g, want %g", feats[1][3], want[1].([]any)[3])
	}
}

func TestPipelineBadInput(t *testing.T) {
	t.Setenv("HF_HUB_CACHE", t.TempDir()) // "nobody/not-cached" must not find anything
	bert := filepath.Join(hfFixtures, "tiny-bert")
	gpt := filepath.Join(hfFixtures, "tiny-gpt2-zh")
	for _, args := range [][]string{
		{"pipeline"},
		{"pipeline", "summarization", "--model", bert},
		{"pipeline", "question-answering", "--model", bert, "--question", "谁？"},
		{"pipeline", "question-answering", "--model", bert, "--context", "我们"},
		{"pipeline", "question-answering", "--model", gpt, "--question", "谁？", "--context", "我们"},
		{"pipeline", "question-answering", "--model", "/no/such/dir", "--question", "谁？", "--context", "我们"},
		{"pipeline", "question-answering", "--model", bert, "--question", "谁？", "--context", "我们", "--top-k", "0"},
		{"pipeline", "question-answering", "--model", bert, "--question", "谁？", "--context", "我们", "--max-seq-len", "8", "--doc-stride", "6"},
		{"pipeline", "fill-mask", "--model", bert, "没有掩码"},
		{"pipeline", "fill-mask", "--model", bert},
		{"pipeline", "fill-mask", "--model", filepath.Join(hfFixtures, "tiny-bert-qa-zh"), "我[MASK]"},
		{"pipeline", "text-classification", "--model", gpt, "我们"},
		{"pipeline", "text-generation", "--model", bert, "我们"},
		{"pipeline", "text-generation", "--model", gpt, "--max-new-tokens", "1000", "我们"},
		{"pipeline", "feature-extraction", "--model", bert, "--text", "a", "b"},
		{"pipeline", "feature-extraction", "--model", "nobody/not-cached", "我们"},
	} {
		code, out, errOut := runCLI(t, args...)
		if code != 2 || out != "" || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || errOut == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one stderr line", args, code, out, errOut)
		}
	}
}
