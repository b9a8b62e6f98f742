package hub

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm/hub/hubtest"
)

// sandbox is a directory holding the cache (sandbox/a/b/c/cache) and nothing else, so
// that anything a download writes outside the cache shows up in [outside].
func sandbox(t *testing.T) (root, cache string) {
	t.Helper()
	root = t.TempDir()
	cache = filepath.Join(root, "a", "b", "c", "cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	return root, cache
}

// outside lists what exists under root but not inside cache (the directories leading to
// the cache excepted).
func outside(t *testing.T, root, cache string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == cache {
			return filepath.SkipDir
		}
		if p != root && !strings.HasPrefix(cache, p+string(filepath.Separator)) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tinyBertRepo(t *testing.T, commit string) *hubtest.Repo {
	t.Helper()
	r, err := hubtest.FromDir("../../testdata/hf/tiny-bert", commit)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRevisionCannotLeaveTheCache: `download --revision ../../../../x` against a mirror
// that answers any revision wrote the revision's info file outside the cache. Revisions
// must be ref names or commit shas.
func TestRevisionCannotLeaveTheCache(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "")
	repo := tinyBertRepo(t, commit)
	repo.AnyRevision = true
	s := hubtest.New(map[string]*hubtest.Repo{"divellm/tiny-bert": repo})
	defer s.Close()
	for _, rev := range []string{"../../../../x", "../../../../../x/y", "..", "a/../../b", "/abs", ".hidden", "x.lock", "a b", "a\\b", "main\n", "a//b", "a/", "@", "-"} {
		root, cache := sandbox(t)
		_, err := Download("divellm/tiny-bert", Options{Endpoint: s.URL, CacheDir: cache, Revision: rev})
		if !errors.Is(err, ErrBadRevision) || strings.Contains(err.Error(), "\n") {
			t.Errorf("revision %q: err %v, want one line wrapping ErrBadRevision", rev, err)
		}
		if o := outside(t, root, cache); len(o) > 0 {
			t.Errorf("revision %q wrote outside the cache: %v", rev, o)
		}
	}
	if len(s.Requests()) != 0 {
		t.Errorf("a bad revision reached the hub: %v", s.Requests())
	}
	// Real revisions pass: branch, tag, pull-request ref, commit.
	for _, rev := range []string{"main", "v1.0", "refs/pr/1", "fix-2024_05", commit} {
		if err := CheckRevision(rev); err != nil {
			t.Errorf("CheckRevision(%q): %v", rev, err)
		}
	}
	root, cache := sandbox(t)
	res, err := Download("divellm/tiny-bert", Options{Endpoint: s.URL, CacheDir: cache, Revision: "refs/pr/1"})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile(filepath.Join(RepoDir(cache, "divellm/tiny-bert"), "refs", "refs", "pr", "1"))
	if err != nil || string(ref) != commit || res.Commit != commit {
		t.Errorf("refs/refs/pr/1 = %q, %v; result %+v", ref, err, res)
	}
	if o := outside(t, root, cache); len(o) > 0 {
		t.Errorf("wrote outside the cache: %v", o)
	}
}

// TestHostileHubAnswers: a hub (or mirror) that answers a commit sha or an ETag that is a
// path (../../evil) must not make the client write anywhere: every value the server sends
// that becomes part of a path is checked first.
func TestHostileHubAnswers(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "")
	evilCommit := tinyBertRepo(t, "../../../../../evil")
	evilETag := tinyBertRepo(t, commit)
	evilETag.ETags = map[string]string{"config.json": "../../../../../../evil-blob"}
	wrongETag := tinyBertRepo(t, commit)
	wrongETag.ETags = map[string]string{"vocab.txt": strings.Repeat("ab", 32)} // well-formed, wrong hash
	s := hubtest.New(map[string]*hubtest.Repo{"x/evil-commit": evilCommit, "x/evil-etag": evilETag, "x/wrong-etag": wrongETag})
	defer s.Close()
	for id, want := range map[string]string{"x/evil-commit": "commit", "x/evil-etag": "ETag", "x/wrong-etag": "do not match"} {
		root, cache := sandbox(t)
		_, err := Download(id, Options{Endpoint: s.URL, CacheDir: cache})
		if err == nil || !strings.Contains(err.Error(), want) || errors.Is(err, ErrOffline) {
			t.Errorf("%s: err %v, want an error about the %s", id, err, want)
		}
		if o := outside(t, root, cache); len(o) > 0 {
			t.Errorf("%s: wrote outside the cache: %v", id, o)
		}
		if id == "x/wrong-etag" {
			// Nothing half-trusted is left under a name that later runs would believe.
			blobs, _ := os.ReadDir(filepath.Join(RepoDir(cache, id), "blobs"))
			for _, b := range blobs {
				if b.Name() == strings.Repeat("ab", 32) {
					t.Errorf("blob with the wrong content kept as %s", b.Name())
				}
			}
		}
	}
}

// TestOfflineRevisionCannotLeaveTheCache: offline, `--revision ../outside` read a
// directory outside the cache as if it were a snapshot.
func TestOfflineRevisionCannotLeaveTheCache(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "")
	root, cache := sandbox(t)
	// A complete "snapshot" outside the cache, and a refs file pointing at a path.
	evil := filepath.Join(root, "outside")
	os.MkdirAll(evil, 0o755)
	for _, f := range []string{"config.json", "model.safetensors"} {
		b, _ := os.ReadFile(filepath.Join("../../testdata/hf/tiny-bert", f))
		os.WriteFile(filepath.Join(evil, f), b, 0o644)
	}
	repo := RepoDir(cache, "divellm/tiny-bert")
	rel, _ := filepath.Rel(filepath.Join(repo, "snapshots"), evil)
	for _, rev := range []string{rel, "../../../" + rel} {
		if _, err := Download("divellm/tiny-bert", Options{Offline: true, CacheDir: cache, Revision: rev}); !errors.Is(err, ErrBadRevision) {
			t.Errorf("offline revision %q: %v, want ErrBadRevision", rev, err)
		}
		if _, _, err := CachedSnapshot(cache, "divellm/tiny-bert", rev); !errors.Is(err, ErrBadRevision) {
			t.Errorf("CachedSnapshot revision %q: %v, want ErrBadRevision", rev, err)
		}
	}
	os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(rel+"\n"), 0o644)
	if dir, _, err := CachedSnapshot(cache, "divellm/tiny-bert", "main"); err == nil || !strings.Contains(err.Error(), "refs") {
		t.Errorf("refs/main holding a path: snapshot %s, err %v", dir, err)
	}
	if _, _, err := CachedSnapshot(cache, "../x", "main"); err == nil {
		t.Error("CachedSnapshot accepted the model id ../x")
	}
}
