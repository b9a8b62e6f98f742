package serve

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/pipeline"
	"github.com/divellm/divellm/llm/tokenizer"
)

// classifier batches /v1/classify requests: one goroutine takes the texts of every
// request waiting at that moment (up to the batch size) and classifies them in one
// forward pass with pipeline.TextClassificationBatch.
type classifier struct {
	id       string
	m        *llm.Model
	names    []string // label of each class id
	jobs     chan *classifyJob
	maxBatch int
	met      *metrics
	quit     chan struct{}
	stop     sync.Once
}

type classifyJob struct {
	ctx   context.Context
	texts []string
	done  chan classifyResult // buffered: the worker never waits for the handler
}

type classifyResult struct {
	labels [][]pipeline.Label
	err    error
}

func newClassifier(id string, m *llm.Model, maxBatch int, met *metrics) *classifier {
	n := m.Config.NumLabels
	names := make([]string, n)
	for i := range names {
		names[i] = "LABEL_" + strconv.Itoa(i) // transformers' default
		if name, ok := m.Config.ID2Label[strconv.Itoa(i)]; ok {
			names[i] = name
		}
	}
	c := &classifier{id: id, m: m, names: names, jobs: make(chan *classifyJob, 256), maxBatch: maxBatch, met: met, quit: make(chan struct{})}
	go c.loop()
	return c
}

func (c *classifier) close() { c.stop.Do(func() { close(c.quit) }) }

func (c *classifier) loop() {
	for {
		var batch []*classifyJob
		select {
		case j := <-c.jobs:
			batch = append(batch, j)
		case <-c.quit:
			return
		}
		n := len(batch[0].texts)
	more:
		for n < c.maxBatch {
			select {
			case j := <-c.jobs:
				batch = append(batch, j)
				n += len(j.texts)
			default:
				break more
			}
		}
		c.run(batch)
	}
}

// run classifies the texts of the jobs whose clients are still waiting, maxBatch at a time.
func (c *classifier) run(jobs []*classifyJob) {
	var live []*classifyJob
	var texts []string
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			j.done <- classifyResult{err: err}
			continue
		}
		live = append(live, j)
		texts = append(texts, j.texts...)
	}
	var all [][]pipeline.Label
	var err error
	for lo := 0; lo < len(texts) && err == nil; lo += c.maxBatch {
		var res [][]pipeline.Label
		res, err = pipeline.TextClassificationBatch(c.m, texts[lo:min(lo+c.maxBatch, len(texts))])
		all = append(all, res...)
	}
	c.met.addClassified(len(texts))
	for _, j := range live {
		if err != nil {
			j.done <- classifyResult{err: err}
			continue
		}
		j.done <- classifyResult{labels: all[:len(j.texts)]}
		all = all[len(j.texts):]
	}
}

// classifyItem is one classified text: vLLM's /classify fields (label, probs by class
// id, num_classes) plus every label with its score, best first.
type classifyItem struct {
	Index      int              `json:"index"`
	Label      string           `json:"label"`
	Probs      []float64        `json:"probs"`
	NumClasses int              `json:"num_classes"`
	Scores     []pipeline.Label `json:"scores"`
}

func (s *Server) runClassify(w http.ResponseWriter, r *http.Request, f fields) *apiError {
	c := s.cls.Load()
	if c == nil {
		if !s.ready.Load() {
			return notReady()
		}
		return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "model_not_found", Param: "model",
			Message: "this server has no classifier: start it with --classifier DIR"}
	}
	name, e := f.str("model")
	if e != nil {
		return e
	}
	if name != "" && name != c.id {
		return modelNotFound(name, c.id)
	}
	if stream, e := f.boolean("stream", false); e != nil || stream {
		return invalid("stream", "/v1/classify does not stream: leave stream out or false")
	}
	texts, e := f.strings("input")
	if e != nil {
		return e
	}
	if texts == nil {
		return invalid("input", "input (a string or an array of strings) is required")
	}
	if len(texts) == 0 || len(texts) > s.cfg.MaxInputs {
		return invalid("input", "input has %d texts; send 1 to %d", len(texts), s.cfg.MaxInputs)
	}
	tokens := 0
	for i, t := range texts {
		if t == "" {
			return invalid("input", "input[%d] is empty", i)
		}
		ids, _ := tokenizer.EncodeSingle(c.m.Tokenizer, t, 0)
		if len(ids) > c.m.Config.MaxPos {
			return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: "input", Code: "context_length_exceeded",
				Message: fmt.Sprintf("input[%d] has %d tokens; the classifier reads at most %d", i, len(ids), c.m.Config.MaxPos)}
		}
		tokens += len(ids)
	}
	ctx, cancel := context.WithTimeoutCause(r.Context(), s.cfg.RequestTimeout, errDeadline)
	defer cancel()
	j := &classifyJob{ctx: ctx, texts: texts, done: make(chan classifyResult, 1)}
	select {
	case c.jobs <- j:
	default:
		return &apiError{Status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: "rate_limit_exceeded",
			Message: "the classifier queue is full; retry later"}
	}
	var res classifyResult
	select {
	case res = <-j.done:
	case <-ctx.Done():
		res.err = context.Cause(ctx)
	}
	if res.err != nil {
		return s.eventError(res.err)
	}
	items := make([]classifyItem, len(texts))
	for i, labels := range res.labels {
		probs := make([]float64, len(c.names))
		for _, l := range labels {
			for k, name := range c.names {
				if name == l.Label {
					probs[k] = l.Score
				}
			}
		}
		items[i] = classifyItem{Index: i, Label: labels[0].Label, Probs: probs, NumClasses: len(c.names), Scores: labels}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": "classify-" + randomID(), "object": "list", "created": time.Now().Unix(),
		"model": c.id, "data": items, "usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens}})
	return nil
}
