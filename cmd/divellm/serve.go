package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant/qmodel"
	"github.com/divellm/divellm/llm/serve"
	"github.com/divellm/divellm/llm/tokenizer"
)

func init() {
	register("serve", "OpenAI-compatible HTTP server with continuous batching: serve --model DIR [--addr 127.0.0.1:8080 --quant int8|int4 --max-batch N --queue N --api-key-file F --classifier DIR]", serveCmd)
}

func serveCmd(args []string, w io.Writer) error {
	fs := newFlags("serve")
	modelDir := fs.String("model", "", "GPT checkpoint directory to serve (float32 or quantized by `divellm quantize`)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on; other than loopback needs --api-key-file or --insecure")
	quantFlag := fs.String("quant", "fp32", "number format of the linear layers: fp32, int8, int4 (also wo-int8, w4a8)")
	name := fs.String("served-model-name", "", "model id clients send (default: the model directory's name)")
	maxBatch := fs.Int("max-batch", 16, "sequences decoded together = KV-cache slots (1 turns batching off)")
	queue := fs.Int("queue", 64, "sequences that may wait for a slot; beyond, requests get 429")
	maxContext := fs.Int("max-context", 0, "tokens per sequence, prompt + generated (default: the model's positions)")
	maxTokens := fs.Int("max-tokens", 0, "largest max_tokens a request may ask for (default: the context − 1)")
	maxN := fs.Int("max-n", 4, "most choices per request (n × prompts)")
	maxBody := fs.Int64("max-body", 1<<20, "largest request body in bytes")
	timeout := fs.Duration("timeout", 60*time.Second, "per-request deadline")
	drain := fs.Duration("drain-timeout", 30*time.Second, "on SIGTERM, how long in-flight requests may take to finish")
	noPrefix := fs.Bool("no-prefix-cache", false, "do not reuse the KV cache of a finished prompt with the same prefix")
	keyFile := fs.String("api-key-file", "", "file holding the API key clients must send as 'Authorization: Bearer KEY'")
	insecure := fs.Bool("insecure", false, "allow a non-loopback --addr without an API key")
	clsDir := fs.String("classifier", "", "sequence-classification checkpoint served on /v1/classify (e.g. the week-2 alert classifier)")
	clsName := fs.String("classifier-name", "", "model id of the classifier (default: its directory's name)")
	loadFormat := fs.String("load-format", "auto", "auto: the checkpoint's weights; dummy: random weights of its config's shape, for measuring speed (vLLM's --load-format dummy)")
	hfOverrides := fs.String("hf-overrides", "", `JSON object replacing keys of config.json, with --load-format dummy, e.g. '{"n_layer":12,"n_embd":768,"n_head":12}'`)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q (the model goes in --model)", rest[0])
	}
	if *modelDir == "" && *clsDir == "" {
		return usagef("usage: divellm serve --model DIR [--addr 127.0.0.1:8080] (--model or --classifier is required)")
	}
	format := qmodel.Format(*quantFlag)
	if format.Scheme().Bits == 0 && format != qmodel.F32 {
		return usagef("--quant %q: want one of %v", *quantFlag, qmodel.Formats)
	}
	for flagName, dir := range map[string]string{"model": *modelDir, "classifier": *clsDir} {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
			return usagef("--%s %s: not a checkpoint directory (no config.json)", flagName, dir)
		}
	}
	var overrides map[string]any
	switch *loadFormat {
	case "auto":
		if *hfOverrides != "" {
			return usagef("--hf-overrides changes the model's shape, which its weights cannot follow: use it with --load-format dummy")
		}
	case "dummy":
		if *modelDir == "" {
			return usagef("--load-format dummy needs --model DIR (its config.json and tokenizer)")
		}
		if *hfOverrides != "" {
			dec := json.NewDecoder(strings.NewReader(*hfOverrides))
			dec.UseNumber()
			if err := dec.Decode(&overrides); err != nil || overrides == nil || dec.More() {
				return usagef("--hf-overrides %q: want one JSON object, e.g. '{\"n_layer\":12}'", *hfOverrides)
			}
		}
		cfg, err := llm.LoadConfigOverrides(*modelDir, overrides)
		if err != nil {
			return usagef("--load-format dummy --model %s: %v", *modelDir, err)
		}
		if cfg.Arch != llm.GPT {
			return usagef("--load-format dummy --model %s: a %q model; only gpt2 generates", *modelDir, cfg.Arch)
		}
		if tok, err := tokenizer.Load(*modelDir); err != nil {
			return usagef("--load-format dummy --model %s: no tokenizer: %v", *modelDir, err)
		} else if tok.VocabSize() > cfg.VocabSize {
			return usagef("--load-format dummy: vocab_size %d is smaller than the tokenizer's %d ids", cfg.VocabSize, tok.VocabSize())
		}
		// The random float32 model, then the served copy in --quant's format (at most as big).
		if err := checkMemory(fmt.Sprintf("a dummy %d-layer, d_model %d model", cfg.Layers, cfg.DModel), 8*paramEstimate(cfg), "--hf-overrides' sizes"); err != nil {
			return err
		}
	default:
		return usagef("--load-format %q: want auto or dummy", *loadFormat)
	}
	if *maxBatch < 1 || *queue < 1 || *maxContext < 0 || *maxTokens < 0 || *maxN < 1 || *maxBody < 1024 || *timeout <= 0 || *drain < 0 {
		return usagef("--max-batch, --queue, --max-n must be ≥ 1, --max-body ≥ 1024, --timeout > 0; --max-context, --max-tokens ≥ 0")
	}
	key := ""
	if *keyFile != "" {
		data, err := os.ReadFile(*keyFile)
		if err != nil {
			return usagef("--api-key-file: %v", err)
		}
		if key = strings.TrimSpace(string(data)); key == "" || strings.ContainsAny(key, " \t\r\n") {
			return usagef("--api-key-file %s must hold one key on one line", *keyFile)
		}
	}
	loopback, err := isLoopback(*addr)
	if err != nil {
		return usagef("--addr %q: %v", *addr, err)
	}
	if !loopback && key == "" && !*insecure {
		return usagef("--addr %s listens beyond this machine: give --api-key-file FILE (or --insecure to serve without a key)", *addr)
	}
	logger := log.New(os.Stderr, "divellm serve: ", log.LstdFlags)
	srv, err := serve.NewServer(serve.Config{
		Engine:       serve.EngineConfig{MaxBatch: *maxBatch, QueueSize: *queue, MaxContext: *maxContext, NoPrefixCache: *noPrefix},
		APIKey:       key,
		MaxBodyBytes: *maxBody, MaxTokens: *maxTokens, MaxN: *maxN, RequestTimeout: *timeout, Log: logger,
	})
	if err != nil {
		return usagef("%v", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(w, "listening on http://%s (GET /health answers 200 once the model is loaded)\n", ln.Addr())
	if f, ok := w.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	loaded := make(chan error, 1)
	go func() {
		loaded <- loadServed(srv, *modelDir, *name, format, *loadFormat == "dummy", overrides, *clsDir, *clsName, *maxBatch, *maxContext, w)
	}()
	for {
		select {
		case err := <-loaded:
			if err != nil {
				_ = hs.Close()
				return err
			}
			srv.SetReady()
			fmt.Fprintln(w, "ready")
		case err := <-served:
			return fmt.Errorf("server stopped: %w", err)
		case s := <-sig:
			logger.Printf("%v: draining in-flight requests (at most %v)", s, *drain)
			ctx, cancel := context.WithTimeout(context.Background(), *drain)
			defer cancel()
			errShut := hs.Shutdown(ctx) // stop accepting; wait for the handlers in flight
			errDrain := srv.Drain(ctx)  // then stop the engine
			if err := errors.Join(errShut, errDrain); err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			fmt.Fprintln(w, "stopped")
			return nil
		}
	}
}

// loadServed loads the generator and the classifier into srv.
func loadServed(srv *serve.Server, modelDir, name string, f qmodel.Format, dummy bool, overrides map[string]any, clsDir, clsName string, maxBatch, maxContext int, w io.Writer) error {
	if modelDir != "" {
		start := time.Now()
		var g *qmodel.GPT
		var tok tokenizer.Tokenizer
		var err error
		if dummy {
			g, tok, err = serve.LoadDummyGenerator(modelDir, f, overrides)
		} else {
			g, tok, err = serve.LoadGenerator(modelDir, f)
		}
		if err != nil {
			return err
		}
		if name == "" {
			name = filepath.Base(filepath.Clean(modelDir))
		}
		if err := srv.SetGenerator(name, g, tok); err != nil {
			return err
		}
		ctx := g.Config.MaxPos
		if maxContext > 0 {
			ctx = maxContext
		}
		kv := maxBatch * g.Config.Layers * 2 * ctx * g.Config.DModel * 4
		what := modelDir
		if dummy {
			c := g.Config
			what = fmt.Sprintf("%s with random weights (dummy: %d layers, d_model %d, %d heads, d_ff %d, vocab %d)", modelDir, c.Layers, c.DModel, c.Heads, c.DFF, c.VocabSize)
		}
		fmt.Fprintf(w, "model %q: %s, %s weights %.1f MB, %d KV-cache slots × %d tokens = %.1f MB, loaded in %v\n",
			name, what, f, float64(g.Bytes())/1e6, maxBatch, ctx, float64(kv)/1e6, time.Since(start).Round(time.Millisecond))
	}
	if clsDir != "" {
		m, err := llm.Load(clsDir)
		if err != nil {
			return err
		}
		if clsName == "" {
			clsName = filepath.Base(filepath.Clean(clsDir))
		}
		if err := srv.SetClassifier(clsName, m); err != nil {
			return err
		}
		fmt.Fprintf(w, "classifier %q: %s, %d labels\n", clsName, clsDir, m.Config.NumLabels)
	}
	return nil
}

// isLoopback reports whether addr (host:port) only listens on this machine. An empty
// host listens on every interface.
func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback(), nil
}
