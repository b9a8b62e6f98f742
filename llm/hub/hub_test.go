package hub

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/hub/hubtest"
	"github.com/divellm/divellm/llm/safetensors"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

// fakeHub serves testdata/hf/tiny-bert as "divellm/tiny-bert" (with files divellm must not
// fetch), a pickle-only repository and a sharded one.
func fakeHub(t *testing.T) *hubtest.Server {
	t.Helper()
	t.Setenv("HF_HUB_OFFLINE", "")
	bert, err := hubtest.FromDir("../../testdata/hf/tiny-bert", commit)
	if err != nil {
		t.Fatal(err)
	}
	bert.Files["README.md"] = []byte("# tiny\n")
	bert.Files["pytorch_model.bin"] = []byte("PK\x03\x04 not for us")
	bert.Files["tf_model.h5"] = []byte("HDF")
	pickle := &hubtest.Repo{Commit: commit, Files: map[string][]byte{
		"config.json": bert.Files["config.json"], "vocab.txt": bert.Files["vocab.txt"], "pytorch_model.bin": []byte("PK\x03\x04"),
	}}
	sharded := &hubtest.Repo{Commit: commit, Files: map[string][]byte{
		"config.json": bert.Files["config.json"], "model.safetensors.index.json": []byte("{}"), "model-00001-of-00002.safetensors": {},
	}}
	s := hubtest.New(map[string]*hubtest.Repo{"divellm/tiny-bert": bert, "someone/pickle-only": pickle, "someone/sharded": sharded})
	t.Cleanup(s.Close)
	return s
}

// deadEndpoint is a URL where nothing listens.
func deadEndpoint(t *testing.T) string {
	s := hubtest.New(nil)
	u := s.URL
	s.Close()
	return u
}

func TestDownloadThenOffline(t *testing.T) {
	s := fakeHub(t)
	cache := t.TempDir()
	dir := filepath.Join(t.TempDir(), "models", "tiny-bert")
	res, err := Download("divellm/tiny-bert", Options{Endpoint: s.URL, CacheDir: cache, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Dir != dir || res.Commit != commit || res.FromCache {
		t.Errorf("result %+v", res)
	}
	want := []string{"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"}
	if strings.Join(res.Files, ",") != strings.Join(want, ",") {
		t.Errorf("files %v, want %v", res.Files, want)
	}
	for _, r := range s.Requests() {
		if strings.Contains(r, "README") || strings.Contains(r, ".bin") || strings.Contains(r, ".h5") {
			t.Errorf("fetched a file divellm does not need: %s", r)
		}
	}
	// The checkpoint loads, from the plain directory and from the cache snapshot.
	for _, d := range []string{dir, res.Snapshot} {
		m, err := llm.Load(d)
		if err != nil {
			t.Fatal(err)
		}
		if h := m.Heads(); !h.QA || !h.MLM || m.Tokenizer == nil {
			t.Errorf("%s: heads %+v, tokenizer %v", d, h, m.Tokenizer)
		}
	}
	// Python's layout: refs/main holds the commit, snapshot files link into blobs/.
	ref, err := os.ReadFile(filepath.Join(RepoDir(cache, "divellm/tiny-bert"), "refs", "main"))
	if err != nil || string(ref) != commit {
		t.Errorf("refs/main = %q, %v", ref, err)
	}
	if fi, err := os.Lstat(filepath.Join(res.Snapshot, "config.json")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("snapshot config.json is not a symlink into blobs: %v", err)
	}

	// Offline now: the cache answers, without any request.
	n := len(s.Requests())
	dir2 := filepath.Join(t.TempDir(), "again")
	res2, err := Download("divellm/tiny-bert", Options{Endpoint: deadEndpoint(t), CacheDir: cache, Dir: dir2})
	if err != nil {
		t.Fatal(err)
	}
	if !res2.FromCache || res2.Commit != commit || len(s.Requests()) != n {
		t.Errorf("offline result %+v", res2)
	}
	if _, err := llm.Load(dir2); err != nil {
		t.Fatal(err)
	}
	if _, err := Download("divellm/tiny-bert", Options{Offline: true, Endpoint: s.URL, CacheDir: cache}); err != nil || len(s.Requests()) != n {
		t.Errorf("Offline: %v (requests %d → %d)", err, n, len(s.Requests()))
	}
}

func TestOfflineNotCachedSaysWhatToDo(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "")
	_, err := Download("bert-base-chinese", Options{Endpoint: deadEndpoint(t), CacheDir: t.TempDir()})
	if !errors.Is(err, ErrOffline) {
		t.Fatalf("error %v, want ErrOffline", err)
	}
	for _, s := range []string{"huggingface-cli download bert-base-chinese", "--local-dir models/bert-base-chinese", "config.json", "model.safetensors", "vocab.txt", "pytorch_model.bin", "connection refused"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message lacks %q:\n%v", s, err)
		}
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	_, err = Download("bert-base-chinese", Options{Endpoint: deadEndpoint(t), CacheDir: t.TempDir(), Dir: "my/bert"})
	if !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "--local-dir my/bert") || !strings.Contains(err.Error(), "offline mode") {
		t.Errorf("HF_HUB_OFFLINE: %v", err)
	}
}

func TestRefusedRepositories(t *testing.T) {
	s := fakeHub(t)
	_, err := Download("someone/pickle-only", Options{Endpoint: s.URL, CacheDir: t.TempDir()})
	if !errors.Is(err, safetensors.ErrPickle) || !strings.Contains(err.Error(), "save_file") {
		t.Errorf("pickle-only: %v", err)
	}
	for _, r := range s.Requests() {
		if strings.HasSuffix(r, ".bin") {
			t.Errorf("fetched %s", r)
		}
	}
	_, err = Download("someone/sharded", Options{Endpoint: s.URL, CacheDir: t.TempDir()})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "sharded") {
		t.Errorf("sharded: %v", err)
	}
	_, err = Download("nobody/missing", Options{Endpoint: s.URL, CacheDir: t.TempDir()})
	if err == nil || errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing repository: %v", err)
	}
	for _, id := range []string{"", "../etc", "a/b/c", "/abs", "a b"} {
		if _, err := Download(id, Options{Endpoint: s.URL, CacheDir: t.TempDir()}); err == nil {
			t.Errorf("model id %q accepted", id)
		}
	}
}

// A cache filled by Python's huggingface_hub (refs/main + snapshots/COMMIT) is used offline.
func TestPythonCacheLayout(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "")
	cache := t.TempDir()
	snap := filepath.Join(RepoDir(cache, "uer/roberta-base-chinese-extractive-qa"), "snapshots", commit)
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"} {
		b, err := os.ReadFile(filepath.Join("../../testdata/hf/tiny-bert-qa-zh", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(snap, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := CachedSnapshot(cache, "uer/roberta-base-chinese-extractive-qa", "main"); err == nil {
		t.Fatal("found a snapshot without refs/main")
	}
	os.MkdirAll(filepath.Join(RepoDir(cache, "uer/roberta-base-chinese-extractive-qa"), "refs"), 0o755)
	os.WriteFile(filepath.Join(RepoDir(cache, "uer/roberta-base-chinese-extractive-qa"), "refs", "main"), []byte(commit+"\n"), 0o644)
	t.Setenv("HF_HUB_CACHE", cache)
	res, err := Download("uer/roberta-base-chinese-extractive-qa", Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Dir != snap || len(res.Files) != 5 {
		t.Errorf("result %+v", res)
	}
	if m, err := llm.Load(res.Dir); err != nil || !m.Heads().QA {
		t.Errorf("load: %v", err)
	}
	// A commit hash works as a revision too.
	if _, err := Download("uer/roberta-base-chinese-extractive-qa", Options{Offline: true, Revision: commit}); err != nil {
		t.Error(err)
	}
}

func TestCacheDirEnvironment(t *testing.T) {
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", "/home/learner")
	if got := CacheDir(); got != "/home/learner/.cache/huggingface/hub" {
		t.Errorf("default %s", got)
	}
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if got := CacheDir(); got != "/xdg/huggingface/hub" {
		t.Errorf("XDG %s", got)
	}
	t.Setenv("HF_HOME", "/hf")
	if got := CacheDir(); got != "/hf/hub" {
		t.Errorf("HF_HOME %s", got)
	}
	t.Setenv("HF_HUB_CACHE", "/cache")
	if got := CacheDir(); got != "/cache" {
		t.Errorf("HF_HUB_CACHE %s", got)
	}
}
