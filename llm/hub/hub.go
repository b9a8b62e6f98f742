package hub

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/divellm/divellm/internal/fileio"
	"github.com/divellm/divellm/llm/safetensors"
)

// DefaultEndpoint is the Hugging Face hub.
const DefaultEndpoint = "https://huggingface.co"

// ErrOffline is wrapped by [Download]'s error when the hub cannot be reached (or
// Options.Offline is set) and the model is not in the cache.
var ErrOffline = errors.New("model hub unreachable and the model is not in the local cache")

// ErrUnsupported is wrapped when the repository has no weights divellm can load
// (sharded safetensors, or only TensorFlow/Flax files). PyTorch pickle-only repositories
// wrap [safetensors.ErrPickle] instead.
var ErrUnsupported = errors.New("no loadable weights")

// WeightsFile is the only weights file divellm loads.
const WeightsFile = "model.safetensors"

// ModelFiles are the files of a checkpoint that [llm.Load] reads, in the order they are
// fetched: config.json and the weights are required, the tokenizer files are taken when
// the repository has them.
var ModelFiles = []string{"config.json", WeightsFile, "vocab.txt", "tokenizer.json", "tokenizer_config.json",
	"special_tokens_map.json", "vocab.json", "merges.txt"}

// Options control [Download]. The zero value downloads revision "main" from
// $HF_ENDPOINT (or huggingface.co) into the standard cache.
type Options struct {
	Revision string    // branch, tag or commit (default "main"); see [CheckRevision]
	Dir      string    // also place the files in this plain directory (e.g. models/bert-base-chinese)
	CacheDir string    // cache root (default [CacheDir]: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)
	Endpoint string    // hub URL (default $HF_ENDPOINT or https://huggingface.co; a mirror works too)
	Token    string    // access token for gated or private models (sent as a Bearer header)
	Offline  bool      // never use the network, only the cache (also set by HF_HUB_OFFLINE=1)
	Log      io.Writer // progress messages (nil: quiet)
}

// Result says where a downloaded checkpoint is.
type Result struct {
	Dir       string   // directory to give to llm.Load: Options.Dir, or the cache snapshot
	Snapshot  string   // the cache snapshot directory (…/models--org--name/snapshots/COMMIT)
	Commit    string   // commit hash of the revision
	Files     []string // the files placed in Dir
	FromCache bool     // nothing was fetched: the snapshot was already complete
}

// CacheDir returns the Hugging Face hub cache that Python's huggingface_hub uses:
// $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub.
func CacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HUGGINGFACE_HUB_CACHE"); d != "" { // older name
		return d
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "huggingface", "hub")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

var modelIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$`)

// CheckModelID reports an id that is not "name" or "owner/name".
func CheckModelID(id string) error {
	if !modelIDRE.MatchString(id) || strings.Contains(id, "..") {
		return fmt.Errorf("model id %q: want NAME or OWNER/NAME (e.g. bert-base-chinese, uer/roberta-base-chinese-extractive-qa)", id)
	}
	return nil
}

// RepoDir is the cache folder of a model repository: CACHE/models--owner--name.
func RepoDir(cacheDir, modelID string) string {
	return filepath.Join(cacheDir, "models--"+strings.ReplaceAll(modelID, "/", "--"))
}

// Download fetches the files of a model repository that divellm loads (see [ModelFiles])
// into the Hugging Face cache, shared with Python, and optionally into o.Dir.
//
// Without network (or with o.Offline) a complete snapshot already in the cache is used;
// otherwise the error wraps [ErrOffline] and says what to download and where to put it
// ([OfflineHelp]). A repository with only pytorch_model.bin is refused with
// [safetensors.ErrPickle] and the conversion command.
func Download(modelID string, o Options) (*Result, error) {
	if err := CheckModelID(modelID); err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	if o.Revision == "" {
		o.Revision = "main"
	}
	if err := CheckRevision(o.Revision); err != nil {
		return nil, fmt.Errorf("download %s: %w", modelID, err)
	}
	if o.CacheDir == "" {
		o.CacheDir = CacheDir()
	}
	if o.Endpoint == "" {
		o.Endpoint = os.Getenv("HF_ENDPOINT")
	}
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}
	o.Endpoint = strings.TrimSuffix(o.Endpoint, "/")
	if v := os.Getenv("HF_HUB_OFFLINE"); v == "1" || strings.EqualFold(v, "true") {
		o.Offline = true
	}
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}

	var res *Result
	var netErr error
	if !o.Offline {
		var err error
		res, err = fetch(modelID, o, logf)
		switch {
		case err == nil:
		case isNetworkError(err):
			netErr = err
			logf("cannot reach %s (%v); looking in the cache %s", o.Endpoint, shortNetErr(err), o.CacheDir)
		default:
			return nil, fmt.Errorf("download %s: %w", modelID, err)
		}
	}
	if res == nil {
		snap, commit, err := CachedSnapshot(o.CacheDir, modelID, o.Revision)
		if err != nil {
			why := "offline mode (HF_HUB_OFFLINE=1 or --offline)"
			if netErr != nil {
				why = fmt.Sprintf("cannot reach %s: %v", o.Endpoint, shortNetErr(netErr))
			}
			return nil, fmt.Errorf("download %s: %w (%s; %v). %s", modelID, ErrOffline, why, err, OfflineHelp(modelID, o.Dir))
		}
		res = &Result{Dir: snap, Snapshot: snap, Commit: commit, FromCache: true}
		for _, f := range ModelFiles {
			if exists(filepath.Join(snap, f)) {
				res.Files = append(res.Files, f)
			}
		}
		logf("using the cached snapshot %s", snap)
	}
	if o.Dir != "" {
		if err := placeFiles(res.Snapshot, o.Dir, res.Files); err != nil {
			return nil, fmt.Errorf("download %s: %w", modelID, err)
		}
		res.Dir = o.Dir
	}
	return res, nil
}

// chooseFiles picks the files divellm needs from the repository listing.
func chooseFiles(modelID string, siblings []string) ([]string, error) {
	have := map[string]bool{}
	for _, s := range siblings {
		have[s] = true
	}
	if !have["config.json"] {
		return nil, fmt.Errorf("%w: the repository has no config.json (is %q a model repository?)", ErrUnsupported, modelID)
	}
	if !have[WeightsFile] {
		switch {
		case have["model.safetensors.index.json"]:
			return nil, fmt.Errorf("%w: %s has sharded weights (model.safetensors.index.json); divellm loads a single model.safetensors", ErrUnsupported, modelID)
		case have["pytorch_model.bin"]:
			return nil, fmt.Errorf("%s has only pytorch_model.bin: %w; pickle files can run code when loaded, so divellm reads only safetensors. "+
				"Download it with Python and convert once: %s (or look on the hub for a safetensors revision, e.g. a refs/pr/N branch opened by SFconvertbot, and pass --revision)",
				modelID, safetensors.ErrPickle, ConvertAdvice(filepath.Join("models", filepath.Base(modelID))))
		default:
			return nil, fmt.Errorf("%w: %s has no model.safetensors", ErrUnsupported, modelID)
		}
	}
	var files []string
	for _, f := range ModelFiles {
		if have[f] {
			files = append(files, f)
		}
	}
	return files, nil
}

// CachedSnapshot finds a complete snapshot (config.json and model.safetensors) of
// modelID at revision in a Hugging Face cache, following refs/REVISION as Python does;
// revision may also be a commit hash. It returns the snapshot directory and the commit.
// The model id and the revision are validated ([CheckModelID], [CheckRevision]) and so is
// the commit read from refs/, so the answer is always a folder inside the cache.
func CachedSnapshot(cacheDir, modelID, revision string) (dir, commit string, err error) {
	if err := CheckModelID(modelID); err != nil {
		return "", "", err
	}
	if err := CheckRevision(revision); err != nil {
		return "", "", err
	}
	repo := RepoDir(cacheDir, modelID)
	ref, err := inside(repo, "refs", filepath.FromSlash(revision))
	if err != nil {
		return "", "", err
	}
	switch b, err := fileio.ReadFile(ref, 4096); {
	case err == nil:
		commit = strings.TrimSpace(string(b))
		if !commitRE.MatchString(commit) {
			return "", "", fmt.Errorf("the cache file %s holds %q, not a 40-hex commit sha: delete it and download again", ref, commit)
		}
	case commitRE.MatchString(revision):
		commit = revision
	default:
		return "", "", fmt.Errorf("no snapshot of %s@%s in %s (no refs/%s)", modelID, revision, cacheDir, revision)
	}
	if dir, err = inside(repo, "snapshots", commit); err != nil {
		return "", "", err
	}
	if !exists(dir) {
		return "", "", fmt.Errorf("no snapshot of %s@%s in %s", modelID, revision, cacheDir)
	}
	for _, f := range []string{"config.json", WeightsFile} {
		if !exists(filepath.Join(dir, f)) {
			return "", "", fmt.Errorf("the cached snapshot %s has no %s", dir, f)
		}
	}
	return dir, commit, nil
}

// OfflineHelp tells a learner without network what to download and where to put it.
func OfflineHelp(modelID, dir string) string {
	if dir == "" {
		dir = filepath.Join("models", filepath.Base(modelID))
	}
	return fmt.Sprintf("On a machine with internet access run\n"+
		"  huggingface-cli download %s config.json model.safetensors vocab.txt tokenizer_config.json --local-dir %s\n"+
		"(GPT-2 BPE models need vocab.json merges.txt instead of vocab.txt; tokenizer.json also works; "+
		"in mainland China set HF_ENDPOINT=https://hf-mirror.com), copy the folder here and pass --model %s. "+
		"The folder needs config.json, model.safetensors (pytorch_model.bin is refused: convert it with %s) and the tokenizer files.",
		modelID, dir, dir, ConvertAdvice(dir))
}

// ConvertAdvice is a one-line Python command that converts dir/pytorch_model.bin into
// dir/model.safetensors keeping every tensor, task heads included (qa_outputs,
// classifier, cls.*): [safetensors.StateDictAdvice] for dir. (Loading the checkpoint with
// AutoModel and saving it again would drop those heads.)
func ConvertAdvice(dir string) string {
	return strings.ReplaceAll(safetensors.StateDictAdvice, "DIR", filepath.ToSlash(dir))
}

// placeFiles puts the snapshot files into dir: a hard link when the file system allows it
// (no second copy of a 400 MB file), a copy otherwise.
func placeFiles(snapshot, dir string, files []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		src, err := filepath.EvalSymlinks(filepath.Join(snapshot, f))
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, f)
		if same(src, dst) {
			continue
		}
		_ = os.Remove(dst)
		if err := os.Link(src, dst); err == nil {
			continue
		}
		if err := copyFile(src, dst); err != nil {
			return err
		}
	}
	return nil
}

func same(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".part"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// isNetworkError reports a failure to reach the server at all (DNS, refused connection,
// timeout), as opposed to an answer from it (404, 401).
func isNetworkError(err error) bool {
	var ue *url.Error
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &de)
}

// shortNetErr keeps the innermost cause of a network error ("connection refused").
func shortNetErr(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return de.Error()
	}
	return err.Error()
}
