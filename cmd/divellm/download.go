package main

import (
	"fmt"
	"io"
	"os"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/hub"
)

func init() {
	register("download", "fetch a Hugging Face checkpoint into the HF cache (and --dir): download MODEL_ID [--dir DIR] [--revision R] [--offline]", downloadCmd)
}

// downloadJSON is the output of `divellm download`.
type downloadJSON struct {
	Model     string   `json:"model"`
	Dir       string   `json:"dir"` // pass this to --model
	Snapshot  string   `json:"snapshot"`
	Commit    string   `json:"commit"`
	Files     []string `json:"files"`
	FromCache bool     `json:"from_cache"`
	Arch      string   `json:"arch"` // what divellm will load it as (bert or gpt2)
}

// hubEndpoint is the hub URL; empty means $HF_ENDPOINT or huggingface.co (tests set it).
var hubEndpoint = ""

func downloadCmd(args []string, w io.Writer) error {
	fs := newFlags("download")
	dir := fs.String("dir", "", "also put the files in this directory (e.g. models/bert-base-chinese)")
	revision := fs.String("revision", "main", "branch, tag or commit hash")
	cacheDir := fs.String("cache-dir", "", "Hugging Face cache (default $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)")
	offline := fs.Bool("offline", false, "only look in the cache (like HF_HUB_OFFLINE=1)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("usage: divellm download MODEL_ID [--dir DIR] [--revision R] (e.g. divellm download bert-base-chinese --dir models/bert-base-chinese)")
	}
	id := rest[0]
	if err := hub.CheckModelID(id); err != nil {
		return usagef("%v", err)
	}
	if *revision == "" {
		return usagef("--revision must not be empty")
	}
	res, err := hub.Download(id, hub.Options{Revision: *revision, Dir: *dir, CacheDir: *cacheDir, Endpoint: hubEndpoint,
		Offline: *offline, Token: os.Getenv("HF_TOKEN"), Log: progressOut})
	if err != nil {
		return err
	}
	cfg, err := llm.LoadConfig(res.Dir)
	if err != nil {
		return fmt.Errorf("downloaded %s to %s, but divellm cannot load it: %w", id, res.Dir, err)
	}
	return writeJSON(w, downloadJSON{Model: id, Dir: res.Dir, Snapshot: res.Snapshot, Commit: res.Commit, Files: res.Files,
		FromCache: res.FromCache, Arch: string(cfg.Arch)})
}
