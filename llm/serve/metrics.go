package serve

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, in a registry of their own (so that several
// servers can live in one process, as in tests). A nil *metrics records nothing.
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec   // by route and status code
	latency      *prometheus.HistogramVec // by route
	ttft         prometheus.Histogram
	tokens       prometheus.Counter
	promptTokens prometheus.Counter
	cachedTokens prometheus.Counter
	queue        prometheus.Gauge
	batch        prometheus.Gauge
	batchHist    prometheus.Histogram
	stepTime     prometheus.Histogram
	slotsInUse   prometheus.Gauge
	slots        prometheus.Gauge
	classified   prometheus.Counter
}

// Metric names, as they appear on /metrics.
const (
	MetricRequests     = "divellm_requests_total"
	MetricLatency      = "divellm_request_duration_seconds"
	MetricTTFT         = "divellm_time_to_first_token_seconds"
	MetricTokens       = "divellm_generated_tokens_total"
	MetricPromptTokens = "divellm_prompt_tokens_total"
	MetricCachedTokens = "divellm_prompt_tokens_cached_total"
	MetricQueue        = "divellm_queue_length"
	MetricBatch        = "divellm_running_batch_size"
	MetricBatchHist    = "divellm_step_batch_size"
	MetricStepTime     = "divellm_step_duration_seconds"
	MetricSlotsInUse   = "divellm_kv_cache_slots_in_use"
	MetricSlots        = "divellm_kv_cache_slots"
	MetricClassified   = "divellm_classified_texts_total"
)

func newMetrics() *metrics {
	secs := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricRequests,
			Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricLatency,
			Help: "Time from request to the end of the response, by route.", Buckets: secs}, []string{"route"}),
		ttft: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricTTFT,
			Help: "Time from queueing a sequence to its first generated token.", Buckets: secs}),
		tokens: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricTokens,
			Help: "Tokens generated."}),
		promptTokens: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricPromptTokens,
			Help: "Prompt tokens of finished sequences."}),
		cachedTokens: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricCachedTokens,
			Help: "Prompt tokens whose KV cache was reused from an earlier sequence (prefix cache)."}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricQueue,
			Help: "Sequences waiting for a KV-cache slot."}),
		batch: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricBatch,
			Help: "Sequences in the latest decode step."}),
		batchHist: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricBatchHist,
			Help: "Sequences per decode step.", Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128}}),
		stepTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: MetricStepTime,
			Help:    "Duration of one batched forward step.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}}),
		slotsInUse: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricSlotsInUse,
			Help: "KV-cache slots held by running sequences."}),
		slots: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricSlots,
			Help: "KV-cache slots (the most sequences decoded together)."}),
		classified: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricClassified,
			Help: "Texts classified by /v1/classify."}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.ttft, m.tokens, m.promptTokens, m.cachedTokens,
		m.queue, m.batch, m.batchHist, m.stepTime, m.slotsInUse, m.slots, m.classified,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) observeRequest(route string, code int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

func (m *metrics) observeTTFT(d time.Duration) {
	if m != nil {
		m.ttft.Observe(d.Seconds())
	}
}

func (m *metrics) observeStep(batch int, d time.Duration) {
	if m != nil {
		m.batch.Set(float64(batch))
		m.batchHist.Observe(float64(batch))
		m.stepTime.Observe(d.Seconds())
	}
}

func (m *metrics) addTokens(n int) {
	if m != nil {
		m.tokens.Add(float64(n))
	}
}

func (m *metrics) addPrompt(prompt, cached int) {
	if m != nil {
		m.promptTokens.Add(float64(prompt))
		m.cachedTokens.Add(float64(cached))
	}
}

func (m *metrics) addClassified(n int) {
	if m != nil {
		m.classified.Add(float64(n))
	}
}

func (m *metrics) setQueue(n int) {
	if m != nil {
		m.queue.Set(float64(n))
	}
}

func (m *metrics) setSlotsInUse(n int) {
	if m != nil {
		m.slotsInUse.Set(float64(n))
		if n == 0 {
			m.batch.Set(0)
		}
	}
}

func (m *metrics) setSlots(n int) {
	if m != nil {
		m.slots.Set(float64(n))
	}
}
