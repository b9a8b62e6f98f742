package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm/hub/hubtest"
)

func TestDownloadCommand(t *testing.T) {
	repo, err := hubtest.FromDir(filepath.Join(hfFixtures, "tiny-bert"), "89abcdef0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	s := hubtest.New(map[string]*hubtest.Repo{"divellm/tiny-bert": repo})
	defer s.Close()
	cache := t.TempDir()
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("HF_ENDPOINT", s.URL)

	dir := filepath.Join(t.TempDir(), "models", "tiny-bert")
	var got downloadJSON
	code, out, progress := runCLI(t, "download", "--json", "divellm/tiny-bert", "--dir", dir)
	if code != 0 {
		t.Fatalf("download: exit %d, stderr %q", code, progress)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Dir != dir || got.Arch != "bert" || got.FromCache || len(got.Files) != 4 || !strings.HasPrefix(got.Snapshot, cache) {
		t.Errorf("download: %+v", got)
	}
	if !strings.Contains(progress, "asking "+s.URL) {
		t.Errorf("progress %q", progress)
	}
	// The plain directory works with --model, and so does the id (found in the cache).
	for _, model := range []string{dir, "divellm/tiny-bert"} {
		var fills []map[string]any
		if err := json.Unmarshal([]byte(mustRun(t, "pipeline", "fill-mask", "--json", "--model", model, "我们爱北京，它很[MASK]。")), &fills); err != nil || len(fills) != 5 {
			t.Errorf("fill-mask with --model %s: %v %v", model, fills, err)
		}
	}

	// Hub gone: the cache still answers; an unknown model gets the what-to-do message.
	s.Close()
	if err := json.Unmarshal([]byte(mustRun(t, "download", "--json", "divellm/tiny-bert")), &got); err != nil || !got.FromCache {
		t.Errorf("offline download: %+v %v", got, err)
	}
	code, out, errOut := runCLI(t, "download", "bert-base-chinese")
	// Progress lines ("asking …", "cannot reach …") come first; the error is the last line.
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	last := lines[len(lines)-1]
	if code != 1 || out != "" || !strings.HasPrefix(last, "divellm download: ") || strings.Count(errOut, "divellm download: ") != 1 ||
		!strings.Contains(last, "huggingface-cli download bert-base-chinese") || !strings.Contains(last, "--local-dir models/bert-base-chinese") {
		t.Errorf("offline, not cached: exit %d, stderr %q", code, errOut)
	}
	for _, args := range [][]string{{"download"}, {"download", "../x"}, {"download", "a", "b"}, {"download", "bert-base-chinese", "--revision", ""}} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
