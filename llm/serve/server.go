package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant/qmodel"
	"github.com/divellm/divellm/llm/sample"
	"github.com/divellm/divellm/llm/tokenizer"
)

// Config configures a [Server]. The zero value of a field means its default.
type Config struct {
	Engine EngineConfig // batching, queue and KV-cache slots
	// APIKey, when set, is required on every route but /health as
	// "Authorization: Bearer <key>" (compared in constant time).
	APIKey           string
	MaxBodyBytes     int64         // largest request body (default 1 MiB); more answers 413
	MaxTokens        int           // largest max_tokens (default and maximum: the context − 1)
	DefaultMaxTokens int           // completions without max_tokens generate this many (default 16, as OpenAI)
	MaxN             int           // most choices per request, n × prompts (default 4)
	MaxStop          int           // most stop strings (default 4, as OpenAI)
	MaxInputs        int           // most texts per /v1/classify request (default 64)
	RequestTimeout   time.Duration // per-request deadline (default 60 s); past it 504
	ClassifyBatch    int           // most texts per classifier forward pass (default 32)
	Chat             ChatTemplate  // default DefaultChatTemplate
	Log              *log.Logger   // request errors (default: none)
}

// Server is the HTTP service: the OpenAI-compatible routes /v1/completions,
// /v1/chat/completions and /v1/models, plus /v1/classify, /tokenize, /detokenize, /health
// and /metrics. Models are attached with SetGenerator and SetClassifier, then SetReady
// turns /health to 200: a server can listen while it loads.
type Server struct {
	cfg      Config
	m        *metrics
	mux      *http.ServeMux
	gen      atomic.Pointer[generator]
	cls      atomic.Pointer[classifier]
	ready    atomic.Bool
	draining atomic.Bool
	created  int64
}

type generator struct {
	id  string
	eng *Engine
	tok tokenizer.Tokenizer
	lim limits
}

// NewServer returns a server with no model yet (/health answers 503).
func NewServer(c Config) (*Server, error) {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.DefaultMaxTokens == 0 {
		c.DefaultMaxTokens = 16
	}
	if c.MaxN == 0 {
		c.MaxN = 4
	}
	if c.MaxStop == 0 {
		c.MaxStop = 4
	}
	if c.MaxInputs == 0 {
		c.MaxInputs = 64
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 60 * time.Second
	}
	if c.ClassifyBatch == 0 {
		c.ClassifyBatch = 32
	}
	if c.Chat == (ChatTemplate{}) {
		c.Chat = DefaultChatTemplate
	}
	switch {
	case c.MaxBodyBytes < 1024:
		return nil, fmt.Errorf("serve: max body %d bytes is below 1 KiB", c.MaxBodyBytes)
	case c.MaxTokens < 0 || c.DefaultMaxTokens < 1 || c.MaxN < 1 || c.MaxStop < 0 || c.MaxInputs < 1 || c.ClassifyBatch < 1:
		return nil, errors.New("serve: limits must be positive")
	case c.RequestTimeout < 0:
		return nil, errors.New("serve: the request timeout must be positive")
	}
	s := &Server{cfg: c, m: newMetrics(), mux: http.NewServeMux(), created: time.Now().Unix()}
	s.routes()
	return s, nil
}

// LoadGenerator loads a GPT checkpoint directory (float32 or quantized by qmodel) as the
// decoder in format f, with the tokenizer saved beside it.
func LoadGenerator(dir string, f qmodel.Format) (*qmodel.GPT, tokenizer.Tokenizer, error) {
	g, err := qmodel.LoadGPT(dir, f)
	if err != nil {
		return nil, nil, err
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("serve: %s has no tokenizer: %w", dir, err)
	}
	return g, tok, nil
}

// LoadDummyGenerator builds the decoder that dir's config.json describes, with the keys of
// overrides replaced ([llm.LoadConfigOverrides]), from random weights (seed 1) instead of
// dir's model.safetensors, which it does not read: vLLM's --load-format dummy, for
// measuring a model shape's speed (throughput, batching, quantization) without its
// weights. Its text is noise. The tokenizer is dir's, and the vocabulary must hold it.
func LoadDummyGenerator(dir string, f qmodel.Format, overrides map[string]any) (*qmodel.GPT, tokenizer.Tokenizer, error) {
	c, err := llm.LoadConfigOverrides(dir, overrides)
	if err != nil {
		return nil, nil, fmt.Errorf("serve: %w", err)
	}
	if c.Arch != llm.GPT {
		return nil, nil, fmt.Errorf("serve: %s holds a %q model; only gpt2 generates", dir, c.Arch)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("serve: %s has no tokenizer: %w", dir, err)
	}
	if tok.VocabSize() > c.VocabSize {
		return nil, nil, fmt.Errorf("serve: the tokenizer of %s has %d ids, more than vocab_size %d", dir, tok.VocabSize(), c.VocabSize)
	}
	m, err := llm.New(c, llm.HeadSet{}, 1)
	if err != nil {
		return nil, nil, fmt.Errorf("serve: %w", err)
	}
	g, err := qmodel.NewGPT(m, f)
	if err != nil {
		return nil, nil, err
	}
	return g, tok, nil
}

// SetGenerator serves the decoder g under the model id name and starts its engine.
func (s *Server) SetGenerator(name string, g *qmodel.GPT, tok tokenizer.Tokenizer) error {
	if name == "" {
		return errors.New("serve: the generator needs a model id")
	}
	eng, err := newEngine(g, tok, s.cfg.Engine, s.m)
	if err != nil {
		return err
	}
	ctx := eng.cfg.MaxContext
	maxTok := ctx - 1
	if s.cfg.MaxTokens > 0 {
		maxTok = min(maxTok, s.cfg.MaxTokens)
	}
	lim := limits{maxTokens: maxTok, maxN: s.cfg.MaxN, maxStop: s.cfg.MaxStop, maxStopBytes: 256,
		maxLogitBias: 300, maxMessages: 256, vocab: g.Config.VocabSize, promptTokens: ctx - 1, contextTokens: ctx}
	if old := s.gen.Swap(&generator{id: name, eng: eng, tok: tok, lim: lim}); old != nil {
		go old.eng.Close(context.Background())
	}
	return nil
}

// SetClassifier serves a sequence-classification checkpoint (BERT or GPT with a classifier
// head, as llm.Load reads it) on /v1/classify under the model id name.
func (s *Server) SetClassifier(name string, m *llm.Model) error {
	if name == "" || m == nil {
		return errors.New("serve: the classifier needs a model and a model id")
	}
	if !m.Heads().Classifier || m.Tokenizer == nil {
		return fmt.Errorf("serve: %s is not a classifier: it needs a classification head and a tokenizer", name)
	}
	c := newClassifier(name, m, s.cfg.ClassifyBatch, s.m)
	if old := s.cls.Swap(c); old != nil {
		old.close()
	}
	return nil
}

// SetReady makes /health answer 200: call it when every model is attached.
func (s *Server) SetReady() { s.ready.Store(true) }

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler { return s.mux }

// Stats returns the generation engine's queue and slot counts (zero without a generator).
func (s *Server) Stats() EngineStats {
	if g := s.gen.Load(); g != nil {
		return g.eng.Stats()
	}
	return EngineStats{}
}

// Drain turns /health to 503 and closes the engines once every queued and running
// sequence has finished (or ctx is done). Call it after http.Server.Shutdown has stopped
// new requests, so shutting down loses no accepted request.
func (s *Server) Drain(ctx context.Context) error {
	s.draining.Store(true)
	var err error
	if g := s.gen.Load(); g != nil {
		err = g.eng.Close(ctx)
	}
	if c := s.cls.Load(); c != nil {
		c.close()
	}
	return err
}

// route is one endpoint.
type route struct {
	path, method string
	open         bool // no API key needed
	h            func(http.ResponseWriter, *http.Request)
}

func (s *Server) routes() {
	for _, r := range []route{
		{"/v1/completions", http.MethodPost, false, s.object(s.runCompletions)},
		{"/v1/chat/completions", http.MethodPost, false, s.object(s.runChat)},
		{"/v1/models", http.MethodGet, false, s.models},
		{"/v1/models/{id...}", http.MethodGet, false, s.model},
		{"/v1/classify", http.MethodPost, false, s.object(s.runClassify)},
		{"/tokenize", http.MethodPost, false, s.object(s.runTokenize)},
		{"/detokenize", http.MethodPost, false, s.object(s.runDetokenize)},
		{"/health", http.MethodGet, true, s.health},
		{"/metrics", http.MethodGet, false, s.m.handler().ServeHTTP},
		{"/", "", true, nil},
	} {
		s.mux.Handle(r.path, s.wrap(r))
	}
}

// object makes the handler of an endpoint whose request body is a JSON object: run gets
// the parsed fields, and an error it returns (or a body that is not an object) becomes the
// OpenAI-style error response.
func (s *Server) object(run func(http.ResponseWriter, *http.Request, fields) *apiError) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		f, e := s.readObject(w, r)
		if e == nil {
			e = run(w, r, f)
		}
		if e != nil {
			writeError(w, e)
		}
	}
}

// statusWriter remembers the status code for the metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap adds what every route needs: method check, API key, panic recovery, metrics.
func (s *Server) wrap(rt route) http.Handler {
	label := strings.TrimSuffix(rt.path, "{id...}")
	if rt.h == nil {
		label = "other"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if s.cfg.Log != nil {
					s.cfg.Log.Printf("panic in %s: %v", r.URL.Path, p)
				}
				if sw.code == 0 {
					writeError(sw, &apiError{Status: 500, Type: "server_error", Message: "internal error"})
				}
			}
			code := sw.code
			if code == 0 {
				code = 499 // the client went away before anything was written
			}
			s.m.observeRequest(label, code, time.Since(start))
		}()
		switch {
		case !rt.open && s.cfg.APIKey != "" && !s.authorized(r):
			sw.Header().Set("WWW-Authenticate", "Bearer")
			writeError(sw, &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: "invalid_api_key",
				Message: "missing or incorrect API key: send the header Authorization: Bearer <key>"})
		case rt.h == nil:
			writeError(sw, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "unknown_url",
				Message: fmt.Sprintf("unknown request URL: %s %s", r.Method, r.URL.Path)})
		case r.Method != rt.method && !(rt.method == http.MethodGet && r.Method == http.MethodHead):
			sw.Header().Set("Allow", rt.method)
			writeError(sw, &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Code: "method_not_allowed",
				Message: fmt.Sprintf("%s needs %s, not %s", rt.path, rt.method, r.Method)})
		default:
			rt.h(sw, r)
		}
	})
}

// authorized compares the bearer token with the key in constant time (the SHA-256 of both,
// so not even the key's length leaks).
func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	a, b := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(s.cfg.APIKey))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && ok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if e.Status == http.StatusGatewayTimeout {
		w.Header().Set("X-Should-Retry", "false") // the same request would time out again
	}
	writeJSON(w, e.Status, e)
}

// readObject reads a JSON object body within the size limit.
func (s *Server) readObject(w http.ResponseWriter, r *http.Request) (fields, *apiError) {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, tooLarge(s.cfg.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(s.cfg.MaxBodyBytes)
		}
		return nil, invalid("", "cannot read the body: %v", err)
	}
	if !utf8.Valid(body) {
		return nil, invalid("", "the body is not valid UTF-8")
	}
	return decodeObject(body)
}

func tooLarge(n int64) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "request_too_large",
		Message: fmt.Sprintf("the body exceeds %d bytes", n)}
}

// generatorFor checks readiness and the model field.
func (s *Server) generatorFor(f fields) (*generator, *apiError) {
	g := s.gen.Load()
	if g == nil {
		if !s.ready.Load() {
			return nil, notReady()
		}
		return nil, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "model_not_found", Param: "model",
			Message: "this server has no generation model (it serves a classifier only)"}
	}
	name, e := f.str("model")
	if e != nil {
		return nil, e
	}
	if name != "" && name != g.id {
		return nil, modelNotFound(name, g.id)
	}
	return g, nil
}

func notReady() *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "model_loading",
		Message: "the model is still loading; retry when /health answers 200"}
}

func modelNotFound(name, have string) *apiError {
	return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "model_not_found", Param: "model",
		Message: fmt.Sprintf("the model %q does not exist; this server serves %q", name, have)}
}

// encode tokenizes a prompt and checks its length.
func (g *generator) encode(text, param string) ([]int, *apiError) {
	if text == "" {
		return nil, invalid(param, "%s must not be empty", param)
	}
	ids := tokenizer.IDs(g.tok.Encode(text))
	return ids, g.checkIDs(ids, param)
}

func (g *generator) checkIDs(ids []int, param string) *apiError {
	if len(ids) == 0 {
		return invalid(param, "%s must not be empty", param)
	}
	if len(ids) > g.lim.promptTokens {
		return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param, Code: "context_length_exceeded",
			Message: fmt.Sprintf("the prompt has %d tokens; this model's context is %d tokens, so a prompt may have at most %d", len(ids), g.lim.contextTokens, g.lim.promptTokens)}
	}
	for _, id := range ids {
		if id < 0 || id >= g.lim.vocab {
			return invalid(param, "token id %d is outside the vocabulary [0, %d)", id, g.lim.vocab)
		}
	}
	return nil
}

// maxTokens resolves max_tokens for a prompt of n tokens: the request's, or def capped
// to the room left in the context.
func (g *generator) maxTokens(sp *sampling, n, def int, param string) (int, *apiError) {
	room := g.lim.contextTokens - n
	if sp.maxTokens == 0 {
		return max(1, min(def, room, g.lim.maxTokens)), nil
	}
	if sp.maxTokens > room {
		return 0, &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param, Code: "context_length_exceeded",
			Message: fmt.Sprintf("this model's context is %d tokens; the prompt has %d and %s is %d: lower %s to at most %d", g.lim.contextTokens, n, param, sp.maxTokens, param, room)}
	}
	return sp.maxTokens, nil
}

// requests builds the engine requests of prompts × n choices (choice index = prompt·n + j).
func (sp *sampling) requests(prompts [][]int, maxTokens []int, stop []string) []GenRequest {
	seed := rand.Uint64()
	if sp.seed != nil {
		seed = *sp.seed
	}
	var out []GenRequest
	for i, p := range prompts {
		for j := range sp.n {
			out = append(out, GenRequest{Prompt: p, MaxTokens: maxTokens[i],
				Sampling: sample.Options{Temperature: sp.temperature, TopK: sp.topK, TopP: sp.topP},
				Seed:     seed + uint64(i*sp.n+j), Stop: stop, IgnoreEOS: sp.ignoreEOS,
				PresencePenalty: sp.presence, FrequencyPenalty: sp.frequency, LogitBias: sp.logitBias})
		}
	}
	return out
}

func (s *Server) runCompletions(w http.ResponseWriter, r *http.Request, f fields) *apiError {
	g, e := s.generatorFor(f)
	if e != nil {
		return e
	}
	sp, e := parseSampling(f, g.lim, false)
	if e != nil {
		return e
	}
	echo, e := f.boolean("echo", false)
	if e != nil {
		return e
	}
	texts, prompts, e := parsePrompt(f)
	if e != nil {
		return e
	}
	if n := max(len(texts), len(prompts)) * sp.n; n > s.cfg.MaxN {
		return invalid("n", "%d prompts × n = %d choices; at most %d are allowed per request", n/sp.n, n, s.cfg.MaxN)
	}
	for _, t := range texts {
		ids, e := g.encode(t, "prompt")
		if e != nil {
			return e
		}
		prompts = append(prompts, ids)
	}
	if texts == nil {
		for _, p := range prompts {
			if e := g.checkIDs(p, "prompt"); e != nil {
				return e
			}
			texts = append(texts, g.tok.Decode(p))
		}
	}
	maxTok := make([]int, len(prompts))
	for i, p := range prompts {
		if maxTok[i], e = g.maxTokens(sp, len(p), s.cfg.DefaultMaxTokens, "max_tokens"); e != nil {
			return e
		}
	}
	prefix := make([]string, len(texts)*sp.n)
	if echo {
		for i := range prefix {
			prefix[i] = texts[i/sp.n]
		}
	}
	return s.generate(w, r, g, sp, sp.requests(prompts, maxTok, sp.stop), job{
		chat: false, id: "cmpl-" + randomID(), echo: prefix, prompts: len(prompts)})
}

func (s *Server) runChat(w http.ResponseWriter, r *http.Request, f fields) *apiError {
	g, e := s.generatorFor(f)
	if e != nil {
		return e
	}
	sp, e := parseSampling(f, g.lim, true)
	if e != nil {
		return e
	}
	msgs, e := parseMessages(f, g.lim)
	if e != nil {
		return e
	}
	if sp.n > s.cfg.MaxN {
		return invalid("n", "n is %d; at most %d are allowed", sp.n, s.cfg.MaxN)
	}
	text, err := s.cfg.Chat.Render(msgs)
	if err != nil {
		return invalid("messages", "%v", err)
	}
	ids, e := g.encode(text, "messages")
	if e != nil {
		return e
	}
	param := "max_tokens"
	if f.present("max_completion_tokens") {
		param = "max_completion_tokens"
	}
	mt, e := g.maxTokens(sp, len(ids), g.lim.maxTokens, param)
	if e != nil {
		return e
	}
	stop := append(append([]string(nil), sp.stop...), s.cfg.Chat.Stop())
	return s.generate(w, r, g, sp, sp.requests([][]int{ids}, []int{mt}, stop), job{
		chat: true, id: "chatcmpl-" + randomID(), echo: make([]string, sp.n), prompts: 1})
}

// job describes one completion or chat request being answered.
type job struct {
	chat    bool
	id      string
	echo    []string // text written before each choice's completion (echo), or ""
	prompts int
}

// errDeadline is the cause of a request context that reached its deadline.
var errDeadline = errors.New("the request exceeded its deadline")

type indexed struct {
	i  int
	ev Event
}

// generate submits the requests and writes the answer, streamed or whole.
func (s *Server) generate(w http.ResponseWriter, r *http.Request, g *generator, sp *sampling, reqs []GenRequest, j job) *apiError {
	ctx, cancel := context.WithTimeoutCause(r.Context(), s.cfg.RequestTimeout, errDeadline)
	defer cancel()
	streams, err := g.eng.Submit(ctx, reqs...)
	switch {
	case errors.Is(err, ErrQueueFull):
		return &apiError{Status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: "rate_limit_exceeded",
			Message: "the server is busy: every slot is taken and the queue is full; retry later"}
	case errors.Is(err, ErrClosed):
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "shutting_down", Message: "the server is shutting down"}
	case err != nil:
		return invalid("", "%v", err)
	}
	events := make(chan indexed, len(reqs)*(reqs[0].MaxTokens+2))
	for i, st := range streams {
		go func() {
			for ev := range st.C {
				events <- indexed{i, ev}
			}
		}()
	}
	created := time.Now().Unix()
	if sp.stream {
		s.stream(w, g, sp, j, created, len(reqs), events)
		return nil
	}
	texts := make([]strings.Builder, len(reqs))
	last := make([]Event, len(reqs))
	for i := range texts {
		texts[i].WriteString(j.echo[i])
	}
	for left := len(reqs); left > 0; {
		x := <-events
		texts[x.i].WriteString(x.ev.Text)
		if x.ev.Done {
			last[x.i] = x.ev
			left--
		}
	}
	for _, ev := range last {
		if ev.Err != nil {
			return s.eventError(ev.Err)
		}
	}
	choices := make([]any, len(reqs))
	for i := range reqs {
		if j.chat {
			choices[i] = chatChoice{Index: i, Message: chatMessageOut{Role: "assistant", Content: texts[i].String()}, FinishReason: last[i].FinishReason}
		} else {
			choices[i] = completionChoice{Index: i, Text: texts[i].String(), FinishReason: nullable(last[i].FinishReason)}
		}
	}
	object := "text_completion"
	if j.chat {
		object = "chat.completion"
	}
	u := usageOf(last, sp.n)
	writeJSON(w, http.StatusOK, completionResponse{ID: j.id, Object: object, Created: created, Model: g.id,
		Choices: choices, Usage: &u})
	return nil
}

// eventError maps the error that ended a sequence to an API error.
func (s *Server) eventError(err error) *apiError {
	switch {
	case errors.Is(err, errDeadline):
		return &apiError{Status: http.StatusGatewayTimeout, Type: "timeout_error", Code: "deadline_exceeded",
			Message: fmt.Sprintf("the request took longer than %v; lower max_tokens or retry when the server is less busy", s.cfg.RequestTimeout)}
	case errors.Is(err, ErrClosed):
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "shutting_down", Message: "the server shut down before the request finished"}
	case errors.Is(err, context.Canceled):
		return &apiError{Status: 499, Type: "invalid_request_error", Code: "client_closed_request", Message: "the client closed the request"}
	}
	if s.cfg.Log != nil {
		s.cfg.Log.Printf("generation failed: %v", err)
	}
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: "generation failed: " + err.Error()}
}

// usageOf sums the token counts of the finished choices: each prompt counts once.
func usageOf(last []Event, n int) usage {
	var u usage
	for i, ev := range last {
		if i%n == 0 {
			u.PromptTokens += ev.PromptTokens
			u.PromptTokensDetails.CachedTokens += ev.CachedTokens
		}
		u.CompletionTokens += ev.CompletionTokens
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

// stream writes Server-Sent Events: one "data: {json}" chunk per piece of text, a chunk
// with each choice's finish_reason, an optional usage chunk, then "data: [DONE]".
func (s *Server) stream(w http.ResponseWriter, g *generator, sp *sampling, j job, created int64, n int, events <-chan indexed) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush() // the client sees the stream start before the first token
	object := "text_completion"
	if j.chat {
		object = "chat.completion.chunk"
	}
	var usageNull json.RawMessage
	if sp.includeUsage {
		usageNull = json.RawMessage("null")
	}
	failed := false
	write := func(v any) { // one event, not flushed yet
		if failed {
			return
		}
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			failed = true
		}
	}
	flush := func() {
		if !failed && rc.Flush() != nil {
			failed = true
		}
	}
	send := func(v any) { write(v); flush() }
	chunk := func(c any) streamChunk {
		return streamChunk{ID: j.id, Object: object, Created: created, Model: g.id, Choices: []any{c}, Usage: usageNull}
	}
	empty := ""
	for i := range n {
		switch {
		case j.chat:
			send(chunk(chatChunkChoice{Index: i, Delta: delta{Role: "assistant", Content: &empty}}))
		case j.echo[i] != "":
			send(chunk(completionChoice{Index: i, Text: j.echo[i]}))
		}
	}
	last := make([]Event, n)
	var streamErr error
	text := func(i int, t string) any {
		if j.chat {
			return chunk(chatChunkChoice{Index: i, Delta: delta{Content: &t}})
		}
		return chunk(completionChoice{Index: i, Text: t})
	}
	for left := n; left > 0; {
		// Take every event already waiting: under load several tokens of a choice are
		// queued, and their text goes out as one chunk with one flush (one write system
		// call) instead of one each. A lone event is sent at once, as before.
		batch := []indexed{<-events}
	more:
		for {
			select {
			case x := <-events:
				batch = append(batch, x)
			default:
				break more
			}
		}
		pending, at := "", -1 // text of choice `at` not written yet
		for _, x := range batch {
			if at >= 0 && at != x.i {
				write(text(at, pending))
				pending, at = "", -1
			}
			if x.ev.Text != "" {
				pending, at = pending+x.ev.Text, x.i
			}
			if !x.ev.Done {
				continue
			}
			if at >= 0 {
				write(text(at, pending))
				pending, at = "", -1
			}
			left--
			last[x.i] = x.ev
			if x.ev.Err != nil {
				streamErr = x.ev.Err
				continue
			}
			reason := x.ev.FinishReason
			if j.chat {
				write(chunk(chatChunkChoice{Index: x.i, FinishReason: &reason}))
			} else {
				write(chunk(completionChoice{Index: x.i, FinishReason: nullable(reason)}))
			}
		}
		if at >= 0 {
			write(text(at, pending))
		}
		flush()
	}
	if streamErr != nil {
		if errors.Is(streamErr, context.Canceled) {
			return // the client is gone
		}
		send(s.eventError(streamErr))
	} else if sp.includeUsage {
		u := usageOf(last, sp.n)
		b, _ := json.Marshal(u)
		send(streamChunk{ID: j.id, Object: object, Created: created, Model: g.id, Choices: []any{}, Usage: b})
	}
	if !failed {
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
		_ = rc.Flush()
	}
}

func randomID() string { return fmt.Sprintf("%016x%08x", rand.Uint64(), rand.Uint32()) }

// OpenAI response shapes.

type usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

type completionResponse struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []any  `json:"choices"`
	Usage   *usage `json:"usage"`
}

type completionChoice struct {
	Index        int       `json:"index"`
	Text         string    `json:"text"`
	Logprobs     *struct{} `json:"logprobs"`      // always null
	FinishReason nullable  `json:"finish_reason"` // "" is null
}

type chatMessageOut struct {
	Role    string    `json:"role"`
	Content string    `json:"content"`
	Refusal *struct{} `json:"refusal"` // always null
}

type chatChoice struct {
	Index        int            `json:"index"`
	Message      chatMessageOut `json:"message"`
	Logprobs     *struct{}      `json:"logprobs"`
	FinishReason string         `json:"finish_reason"`
}

type delta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type chatChunkChoice struct {
	Index        int       `json:"index"`
	Delta        delta     `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type streamChunk struct {
	ID      string          `json:"id"`
	Object  string          `json:"object"`
	Created int64           `json:"created"`
	Model   string          `json:"model"`
	Choices []any           `json:"choices"`
	Usage   json.RawMessage `json:"usage,omitempty"`
}

// nullable is a string written as null when empty.
type nullable string

func (n nullable) MarshalJSON() ([]byte, error) {
	if n == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(n))
}

// The other routes.

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	data := []model{}
	if g := s.gen.Load(); g != nil {
		data = append(data, model{g.id, "model", s.created, "divellm"})
	}
	if c := s.cls.Load(); c != nil {
		data = append(data, model{c.id, "model", s.created, "divellm"})
	}
	if r.PathValue("id") != "" {
		for _, m := range data {
			if m.ID == r.PathValue("id") {
				writeJSON(w, http.StatusOK, m)
				return
			}
		}
		writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "model_not_found", Param: "model",
			Message: fmt.Sprintf("the model %q does not exist", r.PathValue("id"))})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

func (s *Server) model(w http.ResponseWriter, r *http.Request) { s.models(w, r) }

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	switch {
	case s.draining.Load():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
	case !s.ready.Load():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "loading"})
	default:
		st := s.Stats()
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "queued": st.Queued, "running": st.Running, "slots": st.Slots})
	}
}

// tokenizerFor picks the generator's tokenizer, or the classifier's when model names it.
func (s *Server) tokenizerFor(f fields) (tokenizer.Tokenizer, int, *apiError) {
	name, e := f.str("model")
	if e != nil {
		return nil, 0, e
	}
	g, c := s.gen.Load(), s.cls.Load()
	switch {
	case g == nil && c == nil:
		return nil, 0, notReady()
	case c != nil && (name == c.id || (name == "" && g == nil)):
		return c.m.Tokenizer, c.m.Config.MaxPos, nil
	case g != nil && (name == "" || name == g.id):
		return g.tok, g.lim.contextTokens, nil
	}
	have := ""
	if g != nil {
		have = g.id
	} else {
		have = c.id
	}
	return nil, 0, modelNotFound(name, have)
}

func (s *Server) runTokenize(w http.ResponseWriter, r *http.Request, f fields) *apiError {
	tok, maxLen, e := s.tokenizerFor(f)
	if e != nil {
		return e
	}
	var text string
	switch {
	case f.present("messages"):
		msgs, e := parseMessages(f, limits{maxMessages: 256})
		if e != nil {
			return e
		}
		if text, e = renderChat(s.cfg.Chat, msgs); e != nil {
			return e
		}
	default:
		if text, e = f.str("prompt"); e != nil {
			return e
		}
		if !f.present("prompt") {
			return invalid("prompt", "prompt (a string) or messages is required")
		}
	}
	toks := tok.Encode(text)
	ids, strs := make([]int, len(toks)), make([]string, len(toks))
	for i, t := range toks {
		ids[i], strs[i] = t.ID, t.Text
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(ids), "max_model_len": maxLen, "tokens": ids, "token_strs": strs})
	return nil
}

func renderChat(t ChatTemplate, msgs []ChatMessage) (string, *apiError) {
	text, err := t.Render(msgs)
	if err != nil {
		return "", invalid("messages", "%v", err)
	}
	return text, nil
}

func (s *Server) runDetokenize(w http.ResponseWriter, r *http.Request, f fields) *apiError {
	tok, _, e := s.tokenizerFor(f)
	if e != nil {
		return e
	}
	var ids []int
	if v, ok := f["tokens"]; !ok || json.Unmarshal(v, &ids) != nil || isNull(v) {
		return invalid("tokens", "tokens must be an array of token ids")
	}
	for _, id := range ids {
		if id < 0 || id >= tok.VocabSize() {
			return invalid("tokens", "token id %d is outside the vocabulary [0, %d)", id, tok.VocabSize())
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"prompt": strings.ToValidUTF8(tok.Decode(ids), "\uFFFD")})
	return nil
}
