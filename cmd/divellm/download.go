package main

import (
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/hub"
)

func init() {
	define(&command{name: "download", summary: "fetch a Hugging Face checkpoint into the HF cache (and --out DIR); --model then takes its id",
		usage: "MODEL_ID [--out DIR] [--revision R] [--offline]", run: downloadCmd})
}

// hubEndpoint is the hub URL; empty means $HF_ENDPOINT or huggingface.co (tests may set
// either).
var hubEndpoint = ""

// downloadJSON is the result of `divellm download`.
type downloadJSON struct {
	Model     string   `json:"model"`
	Dir       string   `json:"dir"` // pass this (or the model id) to --model
	Snapshot  string   `json:"snapshot"`
	Commit    string   `json:"commit"`
	Files     []string `json:"files"`
	FromCache bool     `json:"from_cache"`
	Arch      string   `json:"arch"` // what divellm will load it as (bert or gpt2)
}

func (d downloadJSON) writeText(w io.Writer) error {
	from := "downloaded"
	if d.FromCache {
		from = "found in the cache"
	}
	return writeTable(w, [][]string{
		{"model", fmt.Sprintf("%s (%s, commit %s, %s)", d.Model, d.Arch, d.Commit, from)},
		{"directory", d.Dir + "  (use it, or the id, with --model)"},
		{"files", fmt.Sprint(d.Files)},
	}, 2)
}

func downloadCmd(c *cmdCtx) (any, error) {
	dir := c.String("out", "", "also put the files in this directory (e.g. models/bert-base-chinese): new, empty, or a download of the same files")
	c.Alias("dir", "out")
	revision := c.String("revision", "main", "branch, tag or commit hash")
	cacheDir := c.String("cache-dir", "", "Hugging Face cache (default $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)")
	offline := c.Bool("offline", false, "only look in the cache (like HF_HUB_OFFLINE=1)")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(rest) != 1 {
		return nil, usagef("usage: divellm download MODEL_ID [--out DIR] [--revision R] (e.g. divellm download bert-base-chinese --out models/bert-base-chinese)")
	}
	id := rest[0]
	if err := hub.CheckModelID(id); err != nil {
		return nil, usagef("%v", err)
	}
	if *revision == "" {
		return nil, usagef("--revision must not be empty")
	}
	if *dir != "" {
		if err := checkDownloadDir(*dir); err != nil {
			return nil, err
		}
	}
	res, err := hub.Download(id, hub.Options{Revision: *revision, Dir: *dir, CacheDir: *cacheDir, Endpoint: hubEndpoint,
		Offline: *offline, Token: os.Getenv("HF_TOKEN"), Log: c.stderr})
	if err != nil {
		return nil, err
	}
	cfg, err := llm.LoadConfig(res.Dir)
	if err != nil {
		return nil, fmt.Errorf("downloaded %s to %s, but divellm cannot load it: %w", id, res.Dir, err)
	}
	return downloadJSON{Model: id, Dir: res.Dir, Snapshot: res.Snapshot, Commit: res.Commit, Files: res.Files,
		FromCache: res.FromCache, Arch: string(cfg.Arch)}, nil
}

// checkDownloadDir applies the output-directory policy to --out: the directory is new,
// empty, a checkpoint divellm wrote, or holds only files a download places there (an
// earlier download, refreshed in place). Anything else is refused before the download.
func checkDownloadDir(dir string) error {
	err := checkOutDir("out", dir)
	if err == nil {
		return nil
	}
	entries, rerr := os.ReadDir(dir)
	if rerr != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !slices.Contains(hub.ModelFiles, e.Name()) {
			return err
		}
	}
	return nil
}
