package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/pipeline"
	"github.com/divellm/divellm/llm/quant/qmodel"
)

const tinyBERT = "../../testdata/hf/tiny-bert" // has a 3-label classifier head

// raceEnabled is set in -race builds (race_test.go). GoMLX's Go backend (gomlx/compute
// v0.1.5), which runs the BERT classifier, does pointer arithmetic in its matmul kernels
// (SIMD and plain alike) that the race detector's checkptr aborts on, so the one test that
// runs the classifier's forward pass skips under -race; everything else runs.
var raceEnabled bool

var (
	bertOnce sync.Once
	bert     *llm.Model
	bertErr  error
)

func classifierModel(t *testing.T) *llm.Model {
	t.Helper()
	bertOnce.Do(func() { bert, bertErr = llm.Load(tinyBERT) })
	if bertErr != nil {
		t.Fatal(bertErr)
	}
	return bert
}

// newServer starts a server on gpt-tiny-zh (fp32) and the tiny BERT classifier.
func newServer(t *testing.T, c Config) (*Server, *httptest.Server) {
	t.Helper()
	s, err := NewServer(c)
	if err != nil {
		t.Fatal(err)
	}
	g, tok := tiny(t, qmodel.F32)
	if err := s.SetGenerator("gpt-tiny-zh", g, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.SetClassifier("alerts", classifierModel(t)); err != nil {
		t.Fatal(err)
	}
	s.SetReady()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		_ = s.Drain(context.Background())
	})
	return s, ts
}

func post(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// checkErrorObject verifies OpenAI's error shape: exactly message, type, param, code.
func checkErrorObject(t *testing.T, name string, body []byte) map[string]any {
	t.Helper()
	var e map[string]map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s: body is not JSON: %s", name, body)
	}
	obj, ok := e["error"]
	if !ok || len(e) != 1 {
		t.Fatalf("%s: no single error object: %s", name, body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := obj[k]; !ok {
			t.Fatalf("%s: error object lacks %q: %s", name, k, body)
		}
	}
	if len(obj) != 4 {
		t.Fatalf("%s: error object has extra fields: %s", name, body)
	}
	if m, _ := obj["message"].(string); m == "" {
		t.Fatalf("%s: empty message: %s", name, body)
	}
	if ty, _ := obj["type"].(string); ty == "" {
		t.Fatalf("%s: empty type: %s", name, body)
	}
	return obj
}

// TestHostileRequests: malformed and hostile requests each get a 4xx JSON error object and
// the server stays healthy: no slot held, /health 200, a normal request still answered.
func TestHostileRequests(t *testing.T) {
	s, ts := newServer(t, Config{})
	long := strings.Repeat("磁盘", 100) // 200 tokens > 128 positions
	stops := make([]string, 1000)
	for i := range stops {
		stops[i] = fmt.Sprint(i)
	}
	thousandStops, _ := json.Marshal(stops)
	inputs := make([]string, 1000)
	for i := range inputs {
		inputs[i] = "磁盘"
	}
	thousandInputs, _ := json.Marshal(inputs)
	const cmpl, chat, cls = "/v1/completions", "/v1/chat/completions", "/v1/classify"
	cases := []struct {
		name, path, body string
		status           int
		param            string // expected param, "" = not checked
	}{
		{"bad JSON", cmpl, `{"prompt": "磁盘",`, 400, ""},
		{"not an object", cmpl, `["磁盘"]`, 400, ""},
		{"two objects", cmpl, `{"prompt":"磁盘"} {"prompt":"x"}`, 400, ""},
		{"empty body", cmpl, ``, 400, ""},
		{"prompt wrong type", cmpl, `{"prompt": 5}`, 400, "prompt"},
		{"prompt missing", cmpl, `{"max_tokens": 5}`, 400, "prompt"},
		{"empty prompt", cmpl, `{"prompt": ""}`, 400, "prompt"},
		{"empty prompt list", cmpl, `{"prompt": []}`, 400, "prompt"},
		{"prompt of objects", cmpl, `{"prompt": [{"a":1}]}`, 400, "prompt"},
		{"max_tokens string", cmpl, `{"prompt": "磁盘", "max_tokens": "10"}`, 400, "max_tokens"},
		{"max_tokens negative", cmpl, `{"prompt": "磁盘", "max_tokens": -1}`, 400, "max_tokens"},
		{"max_tokens zero", cmpl, `{"prompt": "磁盘", "max_tokens": 0}`, 400, "max_tokens"},
		{"max_tokens huge", cmpl, `{"prompt": "磁盘", "max_tokens": 1000000000}`, 400, "max_tokens"},
		{"max_tokens fractional", cmpl, `{"prompt": "磁盘", "max_tokens": 2.5}`, 400, "max_tokens"},
		{"max_tokens overflow", cmpl, `{"prompt": "磁盘", "max_tokens": 1e400}`, 400, "max_tokens"},
		{"prompt + max_tokens over context", cmpl, `{"prompt": "磁盘", "max_tokens": 127}`, 400, "max_tokens"},
		{"prompt too long", cmpl, `{"prompt": "` + long + `"}`, 400, "prompt"},
		{"token id outside vocab", cmpl, `{"prompt": [999999]}`, 400, "prompt"},
		{"invalid UTF-8", cmpl, "{\"prompt\": \"\xff\xfe\"}", 400, ""},
		{"unknown model", cmpl, `{"model": "gpt-5", "prompt": "磁盘"}`, 404, "model"},
		{"model wrong type", cmpl, `{"model": 3, "prompt": "磁盘"}`, 400, "model"},
		{"8 MB body", cmpl, `{"prompt": "` + strings.Repeat("a", 8<<20) + `"}`, 413, ""},
		{"1000 stop strings", cmpl, `{"prompt": "磁盘", "stop": ` + string(thousandStops) + `}`, 400, "stop"},
		{"stop wrong type", cmpl, `{"prompt": "磁盘", "stop": 5}`, 400, "stop"},
		{"empty stop string", cmpl, `{"prompt": "磁盘", "stop": [""]}`, 400, "stop"},
		{"n = 10⁶", cmpl, `{"prompt": "磁盘", "n": 1000000}`, 400, "n"},
		{"n fractional", cmpl, `{"prompt": "磁盘", "n": 1.5}`, 400, "n"},
		{"too many prompts × n", cmpl, `{"prompt": ["a","b","c"], "n": 2}`, 400, "n"},
		{"temperature NaN string", cmpl, `{"prompt": "磁盘", "temperature": "NaN"}`, 400, "temperature"},
		{"temperature NaN literal", cmpl, `{"prompt": "磁盘", "temperature": NaN}`, 400, ""},
		{"temperature Infinity literal", cmpl, `{"prompt": "磁盘", "temperature": Infinity}`, 400, ""},
		{"temperature 1e999", cmpl, `{"prompt": "磁盘", "temperature": 1e999}`, 400, "temperature"},
		{"temperature negative", cmpl, `{"prompt": "磁盘", "temperature": -0.5}`, 400, "temperature"},
		{"top_p above 1", cmpl, `{"prompt": "磁盘", "top_p": 1.5}`, 400, "top_p"},
		{"top_p zero", cmpl, `{"prompt": "磁盘", "top_p": 0}`, 400, "top_p"},
		{"presence_penalty 3", cmpl, `{"prompt": "磁盘", "presence_penalty": 3}`, 400, "presence_penalty"},
		{"seed string", cmpl, `{"prompt": "磁盘", "seed": "42"}`, 400, "seed"},
		{"stream string", cmpl, `{"prompt": "磁盘", "stream": "yes"}`, 400, "stream"},
		{"stream_options without stream", cmpl, `{"prompt": "磁盘", "stream_options": {"include_usage": true}}`, 400, "stream_options"},
		{"logit_bias bad key", cmpl, `{"prompt": "磁盘", "logit_bias": {"abc": 1}}`, 400, "logit_bias"},
		{"logit_bias too big", cmpl, `{"prompt": "磁盘", "logit_bias": {"7": 1000}}`, 400, "logit_bias"},
		{"logprobs asked", cmpl, `{"prompt": "磁盘", "logprobs": 5}`, 400, "logprobs"},
		{"best_of 3", cmpl, `{"prompt": "磁盘", "best_of": 3}`, 400, "best_of"},
		{"messages not a list", chat, `{"messages": "你好"}`, 400, "messages"},
		{"messages missing", chat, `{"model": "gpt-tiny-zh"}`, 400, "messages"},
		{"messages empty", chat, `{"messages": []}`, 400, "messages"},
		{"message not an object", chat, `{"messages": ["你好"]}`, 400, "messages[0]"},
		{"unknown role", chat, `{"messages": [{"role": "wizard", "content": "你好"}]}`, 400, "messages[0].role"},
		{"role missing", chat, `{"messages": [{"content": "你好"}]}`, 400, "messages[0].role"},
		{"tool role", chat, `{"messages": [{"role": "tool", "content": "x"}]}`, 400, "messages[0].role"},
		{"content number", chat, `{"messages": [{"role": "user", "content": 5}]}`, 400, "messages[0].content"},
		{"content image", chat, `{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}`, 400, ""},
		{"user content null", chat, `{"messages": [{"role": "user", "content": null}]}`, 400, "messages[0].content"},
		{"tools asked", chat, `{"messages": [{"role": "user", "content": "你好"}], "tools": [{"type": "function", "function": {"name": "f"}}]}`, 400, "tools"},
		{"json response format", chat, `{"messages": [{"role": "user", "content": "你好"}], "response_format": {"type": "json_object"}}`, 400, "response_format"},
		{"max_completion_tokens huge", chat, `{"messages": [{"role": "user", "content": "你好"}], "max_completion_tokens": 100000}`, 400, "max_completion_tokens"},
		{"stream on classify", cls, `{"input": "磁盘满了", "stream": true}`, 400, "stream"},
		{"classify input missing", cls, `{"model": "alerts"}`, 400, "input"},
		{"classify input empty list", cls, `{"input": []}`, 400, "input"},
		{"classify empty text", cls, `{"input": [""]}`, 400, "input"},
		{"classify 1000 inputs", cls, `{"input": ` + string(thousandInputs) + `}`, 400, "input"},
		{"classify unknown model", cls, `{"model": "gpt-tiny-zh", "input": "磁盘"}`, 404, "model"},
		{"tokenize wrong type", "/tokenize", `{"prompt": 3}`, 400, "prompt"},
		{"detokenize bad ids", "/detokenize", `{"tokens": [-5]}`, 400, "tokens"},
		{"unknown path", "/v1/engines", `{}`, 404, ""},
	}
	if len(cases) < 25 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		resp, body := post(t, ts.URL+c.path, c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %.300s", c.name, resp.StatusCode, c.status, body)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q", c.name, ct)
		}
		obj := checkErrorObject(t, c.name, body)
		if c.param != "" && obj["param"] != c.param {
			t.Errorf("%s: param %v, want %q: %s", c.name, obj["param"], c.param, body)
		}
	}
	// A wrong method is a JSON error too.
	resp, err := http.Get(ts.URL + "/v1/completions")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET /v1/completions: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	checkErrorObject(t, "wrong method", b)
	// Still healthy: nothing held, health 200, a normal request works.
	if st := s.Stats(); st.Running != 0 || st.Queued != 0 {
		t.Fatalf("after the hostile requests: %+v", st)
	}
	if resp, err := http.Get(ts.URL + "/health"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("health after hostile requests: %v %v", resp, err)
	}
	resp, body := post(t, ts.URL+cmpl, `{"prompt": "磁盘", "max_tokens": 3, "temperature": 0}`)
	if resp.StatusCode != 200 {
		t.Fatalf("normal request after hostile ones: %d %s", resp.StatusCode, body)
	}
}

// TestAcceptsNeutralOpenAIFields: fields a client library sends with their neutral values
// are accepted, as are unknown extra fields.
func TestAcceptsNeutralOpenAIFields(t *testing.T) {
	_, ts := newServer(t, Config{})
	for _, body := range []string{
		`{"model": "gpt-tiny-zh", "prompt": "磁盘", "max_tokens": 3, "user": "u1", "logprobs": null, "presence_penalty": 0,
		  "frequency_penalty": 0, "best_of": 1, "echo": false, "suffix": null, "n": 1, "seed": -5, "top_p": 1,
		  "stream": false, "logit_bias": {}, "some_future_field": {"x": 1}}`,
		`{"model": "gpt-tiny-zh", "messages": [{"role": "developer", "content": "简短"}, {"role": "user", "name": "a", "content": [{"type": "text", "text": "你好"}]},
		  {"role": "assistant", "content": null}, {"role": "user", "content": "磁盘"}], "max_completion_tokens": 3,
		  "logprobs": false, "top_logprobs": null, "store": false, "metadata": {"k": "v"}, "parallel_tool_calls": true,
		  "tool_choice": "none", "response_format": {"type": "text"}, "modalities": ["text"], "service_tier": "auto",
		  "temperature": 0.7, "stream_options": null}`,
	} {
		path := "/v1/completions"
		if strings.Contains(body, "messages") {
			path = "/v1/chat/completions"
		}
		resp, b := post(t, ts.URL+path, body)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
}

// TestResponseShapes: the non-streamed answers have OpenAI's fields and types, and the
// text is what the engine generates for the same greedy request.
func TestResponseShapes(t *testing.T) {
	s, ts := newServer(t, Config{})
	resp, body := post(t, ts.URL+"/v1/completions", `{"model":"gpt-tiny-zh","prompt":"2026-03-14 02:13:07 [CRITICAL]","max_tokens":12,"temperature":0,"ignore_eos":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var c struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		Model   string `json:"model"`
		Choices []struct {
			Index        int             `json:"index"`
			Text         string          `json:"text"`
			Logprobs     json.RawMessage `json:"logprobs"`
			FinishReason string          `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens, CompletionTokens, TotalTokens int
		} `json:"usage"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	var u map[string]int
	_ = json.Unmarshal(raw["usage"], &u)
	if !strings.HasPrefix(c.ID, "cmpl-") || c.Object != "text_completion" || c.Created == 0 || c.Model != "gpt-tiny-zh" ||
		len(c.Choices) != 1 || c.Choices[0].FinishReason != "length" || string(c.Choices[0].Logprobs) != "null" ||
		u["prompt_tokens"] != 30 || u["completion_tokens"] != 12 || u["total_tokens"] != 42 {
		t.Fatalf("completion %s", body)
	}
	// The same text as the engine's own greedy run.
	_, tok := tiny(t, qmodel.F32)
	st, _ := s.gen.Load().eng.Submit(context.Background(), GenRequest{Prompt: ids(tok, "2026-03-14 02:13:07 [CRITICAL]"), MaxTokens: 12, IgnoreEOS: true})
	if want, _ := collect(st[0]); c.Choices[0].Text != want {
		t.Fatalf("HTTP text %q, engine %q", c.Choices[0].Text, want)
	}

	resp, body = post(t, ts.URL+"/v1/chat/completions", `{"model":"gpt-tiny-zh","messages":[{"role":"user","content":"磁盘满了怎么办？"}],"max_tokens":5,"temperature":0,"n":2}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var ch struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Choices []struct {
			Index   int `json:"index"`
			Message struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage map[string]any `json:"usage"`
	}
	if err := json.Unmarshal(body, &ch); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ch.ID, "chatcmpl-") || ch.Object != "chat.completion" || len(ch.Choices) != 2 ||
		ch.Choices[1].Index != 1 || ch.Choices[0].Message.Role != "assistant" || ch.Choices[0].Message.Content != ch.Choices[1].Message.Content {
		t.Fatalf("chat %s", body)
	}
	for _, k := range []string{"prompt_tokens", "completion_tokens", "total_tokens"} {
		if _, ok := ch.Usage[k]; !ok {
			t.Fatalf("chat usage lacks %s: %s", k, body)
		}
	}

	resp, err := http.Get(ts.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var ml struct {
		Object string `json:"object"`
		Data   []struct {
			ID, Object, OwnedBy string
			Created             int64
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &ml); err != nil || ml.Object != "list" || len(ml.Data) != 2 || ml.Data[0].ID != "gpt-tiny-zh" ||
		ml.Data[0].Object != "model" || ml.Data[1].ID != "alerts" || ml.Data[0].Created == 0 {
		t.Fatalf("models %s", b)
	}
	if resp, err := http.Get(ts.URL + "/v1/models/alerts"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("retrieve model: %v %v", resp, err)
	}
}

// sse reads a streamed response: the data of every event, in order.
func sse(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("not an SSE data line: %q", line)
		}
		out = append(out, data)
	}
	return out
}

// TestStreaming: completion and chat streams are "data: {json}" events in order, the
// pieces add up to the non-streamed text of the same seeded request, the finish_reason
// chunk comes last, then the usage chunk (when asked for), then [DONE] and nothing after.
func TestStreaming(t *testing.T) {
	_, ts := newServer(t, Config{})
	for _, chat := range []bool{false, true} {
		path, req := "/v1/completions", `"prompt":"处理步骤：1."`
		if chat {
			path, req = "/v1/chat/completions", `"messages":[{"role":"system","content":"你是运维助手。"},{"role":"user","content":"磁盘满了怎么办？"}]`
		}
		common := `{"model":"gpt-tiny-zh",` + req + `,"max_tokens":30,"temperature":0.9,"seed":11,"stop":["。"]`
		_, whole := post(t, ts.URL+path, common+`}`)
		var w struct {
			Choices []struct {
				Text         string
				Message      struct{ Content string }
				FinishReason string `json:"finish_reason"`
			}
			Usage struct {
				CompletionTokens int `json:"completion_tokens"`
			}
		}
		if err := json.Unmarshal(whole, &w); err != nil {
			t.Fatal(err)
		}
		wantText := w.Choices[0].Text + w.Choices[0].Message.Content

		resp, err := http.Post(ts.URL+path, "application/json", strings.NewReader(common+`,"stream":true,"stream_options":{"include_usage":true}}`))
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("Content-Type %q", ct)
		}
		events := sse(t, resp.Body)
		resp.Body.Close()
		if len(events) < 3 || events[len(events)-1] != "[DONE]" {
			t.Fatalf("chat %v: events %q", chat, events)
		}
		var text, id string
		finishAt := -1
		for i, ev := range events[:len(events)-1] {
			var c struct {
				ID      string          `json:"id"`
				Object  string          `json:"object"`
				Usage   json.RawMessage `json:"usage"`
				Choices []struct {
					Text  *string `json:"text"`
					Delta *struct {
						Role    string  `json:"role"`
						Content *string `json:"content"`
					} `json:"delta"`
					FinishReason *string `json:"finish_reason"`
				} `json:"choices"`
			}
			if err := json.Unmarshal([]byte(ev), &c); err != nil {
				t.Fatalf("event %d %q: %v", i, ev, err)
			}
			if id == "" {
				id = c.ID
			}
			wantObj := "text_completion"
			if chat {
				wantObj = "chat.completion.chunk"
			}
			if c.ID != id || c.Object != wantObj {
				t.Fatalf("event %d: id %q object %q", i, c.ID, c.Object)
			}
			if len(c.Choices) == 0 { // the usage chunk: after the finish chunk, last before [DONE]
				var u map[string]any
				if json.Unmarshal(c.Usage, &u) != nil || finishAt < 0 || i != len(events)-2 || int(u["completion_tokens"].(float64)) != w.Usage.CompletionTokens {
					t.Fatalf("usage chunk %d %s (finish at %d)", i, ev, finishAt)
				}
				continue
			}
			if string(c.Usage) != "null" {
				t.Fatalf("event %d: usage %s before the end", i, c.Usage)
			}
			ch := c.Choices[0]
			if finishAt >= 0 {
				t.Fatalf("event %d after the finish chunk: %s", i, ev)
			}
			if chat {
				if ch.Delta == nil || (i == 0) != (ch.Delta.Role == "assistant") {
					t.Fatalf("event %d delta %s", i, ev)
				}
				if ch.Delta.Content != nil {
					text += *ch.Delta.Content
				}
			} else {
				text += *ch.Text
			}
			if ch.FinishReason != nil {
				finishAt = i
				if *ch.FinishReason != w.Choices[0].FinishReason {
					t.Fatalf("stream finish %q, whole %q", *ch.FinishReason, w.Choices[0].FinishReason)
				}
			}
		}
		if finishAt < 0 || text != wantText {
			t.Fatalf("chat %v: streamed %q (finish at %d), whole %q", chat, text, finishAt, wantText)
		}
	}
}

// TestHealthAndLoading: /health is 503 before SetReady (and generation too), 200 after,
// 503 again while draining.
func TestHealthAndLoading(t *testing.T) {
	s, err := NewServer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	get := func(path string) int {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get("/health"); c != 503 {
		t.Fatalf("health before loading: %d", c)
	}
	resp, body := post(t, ts.URL+"/v1/completions", `{"prompt":"磁盘"}`)
	if resp.StatusCode != 503 {
		t.Fatalf("completion before loading: %d", resp.StatusCode)
	}
	checkErrorObject(t, "loading", body)
	g, tok := tiny(t, qmodel.F32)
	if err := s.SetGenerator("m", g, tok); err != nil {
		t.Fatal(err)
	}
	s.SetReady()
	if c := get("/health"); c != 200 {
		t.Fatalf("health after loading: %d", c)
	}
	if err := s.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := get("/health"); c != 503 {
		t.Fatalf("health while draining: %d", c)
	}
}

// TestAPIKey: with a key, requests without the right bearer token get 401 (a JSON error),
// /health stays open, the right key passes.
func TestAPIKey(t *testing.T) {
	_, ts := newServer(t, Config{APIKey: "s3cret-key"})
	for _, auth := range []string{"", "Bearer wrong", "Bearer s3cret-ke", "s3cret-key", "Basic czNjcmV0LWtleQ=="} {
		req, _ := http.NewRequest("POST", ts.URL+"/v1/completions", strings.NewReader(`{"prompt":"磁盘","max_tokens":2}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("auth %q: %d", auth, resp.StatusCode)
		}
		checkErrorObject(t, "auth", b)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/v1/completions", strings.NewReader(`{"prompt":"磁盘","max_tokens":2}`))
	req.Header.Set("Authorization", "Bearer s3cret-key")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("right key: %v %v", resp, err)
	}
	if resp, err := http.Get(ts.URL + "/health"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("health without key: %v %v", resp, err)
	}
}

// gatedServer is a server whose engine runs a step only when the test sends a tick.
func gatedServer(t *testing.T, c Config) (*Server, *httptest.Server, chan struct{}) {
	t.Helper()
	s, ts := newServer(t, c)
	ticks := make(chan struct{}, 1000)
	s.gen.Load().eng.beforeStep = func() { <-ticks }
	t.Cleanup(func() { close(ticks) })
	return s, ts, ticks
}

// TestQueueFullAnswers429: with the slot taken and the queue full, the next request gets
// 429 with a rate-limit error; the accepted ones finish.
func TestQueueFullAnswers429(t *testing.T) {
	s, ts, ticks := gatedServer(t, Config{Engine: EngineConfig{MaxBatch: 1, QueueSize: 1}})
	body := `{"prompt":"磁盘","max_tokens":3,"temperature":0}`
	codes := make(chan int, 2)
	for range 2 {
		go func() {
			resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(body))
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	waitFor(func() bool { return s.Stats().Queued == 2 })
	resp, b := post(t, ts.URL+"/v1/completions", body)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third request: %d %s", resp.StatusCode, b)
	}
	if obj := checkErrorObject(t, "429", b); obj["type"] != "rate_limit_error" {
		t.Fatalf("429 type %v", obj["type"])
	}
	for range 20 {
		ticks <- struct{}{}
	}
	for range 2 {
		if c := <-codes; c != 200 {
			t.Fatalf("accepted request answered %d", c)
		}
	}
}

// TestDisconnectFreesSlot: a streaming client that goes away frees its KV-cache slot
// before the engine's next step, without generating the rest.
func TestDisconnectFreesSlot(t *testing.T) {
	s, ts, ticks := gatedServer(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions",
		strings.NewReader(`{"prompt":"磁盘","max_tokens":100,"temperature":0,"ignore_eos":true,"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ticks <- struct{}{}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q %v", line, err)
	}
	if st := s.Stats(); st.Running != 1 {
		t.Fatalf("running %d", st.Running)
	}
	cancel()
	resp.Body.Close()
	waitFor(func() bool { return s.Stats().Cancelled == 1 })
	ticks <- struct{}{}
	waitFor(func() bool { return s.Stats().Running == 0 })
	if st := s.Stats(); st.Tokens >= 100 {
		t.Fatalf("generated %d tokens for a client that left", st.Tokens)
	}
}

// TestDeadline: a request past its deadline gets 504 with a timeout error and frees its slot.
func TestDeadline(t *testing.T) {
	s, ts, _ := gatedServer(t, Config{RequestTimeout: 50e6}) // 50 ms; the gate never opens
	resp, b := post(t, ts.URL+"/v1/completions", `{"prompt":"磁盘","max_tokens":5}`)
	if resp.StatusCode != 504 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	if obj := checkErrorObject(t, "504", b); obj["type"] != "timeout_error" {
		t.Fatalf("type %v", obj["type"])
	}
	if st := s.Stats(); st.Queued != 0 {
		t.Fatalf("the timed-out request is still queued: %+v", st)
	}
}

// TestGracefulShutdown: requests accepted before shutdown all finish completely; new
// connections are refused once shutdown starts.
func TestGracefulShutdown(t *testing.T) {
	s, ts, ticks := gatedServer(t, Config{Engine: EngineConfig{MaxBatch: 2, QueueSize: 8}})
	const n, maxTok = 5, 20
	type answer struct {
		code, tokens int
	}
	answers := make(chan answer, n)
	for range n {
		go func() {
			resp, err := http.Post(ts.URL+"/v1/completions", "application/json",
				strings.NewReader(fmt.Sprintf(`{"prompt":"磁盘","max_tokens":%d,"ignore_eos":true,"temperature":0}`, maxTok)))
			if err != nil {
				answers <- answer{}
				return
			}
			defer resp.Body.Close()
			var c struct {
				Usage struct {
					CompletionTokens int `json:"completion_tokens"`
				} `json:"usage"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&c)
			answers <- answer{resp.StatusCode, c.Usage.CompletionTokens}
		}()
	}
	waitFor(func() bool { st := s.Stats(); return st.Queued+st.Running == n })
	done := make(chan error, 1)
	go func() { done <- ts.Config.Shutdown(context.Background()) }()
	addr := ts.Listener.Addr().String()
	waitFor(func() bool { // the listener is closed: no new request gets in
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	for range n * maxTok * 2 {
		ticks <- struct{}{}
	}
	for range n {
		if a := <-answers; a.code != 200 || a.tokens != maxTok {
			t.Fatalf("an accepted request got %+v during shutdown", a)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestClassify: /v1/classify batches texts and returns the pipeline's labels and
// probabilities for each.
func TestClassify(t *testing.T) {
	if raceEnabled {
		t.Skip("GoMLX's matmul kernels fail the race detector's checkptr (see raceEnabled)")
	}
	_, ts := newServer(t, Config{})
	texts := []string{"我们今天很好", "这个不好", "中"}
	in, _ := json.Marshal(map[string]any{"model": "alerts", "input": texts})
	resp, body := post(t, ts.URL+"/v1/classify", string(in))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var r struct {
		Object string `json:"object"`
		Model  string `json:"model"`
		Data   []struct {
			Index      int              `json:"index"`
			Label      string           `json:"label"`
			Probs      []float64        `json:"probs"`
			NumClasses int              `json:"num_classes"`
			Scores     []pipeline.Label `json:"scores"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Object != "list" || r.Model != "alerts" || len(r.Data) != len(texts) {
		t.Fatalf("%s", body)
	}
	m := classifierModel(t)
	for i, text := range texts {
		want, err := pipeline.TextClassification(m, text)
		if err != nil {
			t.Fatal(err)
		}
		d := r.Data[i]
		sum := 0.0
		for _, p := range d.Probs {
			sum += p
		}
		if d.Index != i || d.Label != want[0].Label || d.NumClasses != 3 || len(d.Probs) != 3 || sum < 0.999 || sum > 1.001 {
			t.Fatalf("text %q: %+v, pipeline %+v", text, d, want)
		}
		for j, w := range want {
			if d.Scores[j].Label != w.Label || d.Scores[j].Score-w.Score > 1e-5 || w.Score-d.Scores[j].Score > 1e-5 {
				t.Fatalf("text %q: scores %+v, pipeline %+v", text, d.Scores, want)
			}
		}
	}
}

// TestTokenize: /tokenize gives the tokenizer's ids, /detokenize inverts them.
func TestTokenize(t *testing.T) {
	_, ts := newServer(t, Config{})
	resp, body := post(t, ts.URL+"/tokenize", `{"prompt":"磁盘满了"}`)
	var r struct {
		Count     int      `json:"count"`
		MaxLen    int      `json:"max_model_len"`
		Tokens    []int    `json:"tokens"`
		TokenStrs []string `json:"token_strs"`
	}
	if err := json.Unmarshal(body, &r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	_, tok := tiny(t, qmodel.F32)
	if fmt.Sprint(r.Tokens) != fmt.Sprint(ids(tok, "磁盘满了")) || r.Count != 4 || r.MaxLen != 128 || strings.Join(r.TokenStrs, "") != "磁盘满了" {
		t.Fatalf("%s", body)
	}
	in, _ := json.Marshal(map[string]any{"tokens": r.Tokens})
	_, body = post(t, ts.URL+"/detokenize", string(in))
	if !strings.Contains(string(body), `"prompt":"磁盘满了"`) {
		t.Fatalf("detokenize %s", body)
	}
}

// TestMetrics: /metrics exposes the series the issue lists, with values that follow the
// requests made.
func TestMetrics(t *testing.T) {
	_, ts := newServer(t, Config{})
	for range 3 {
		post(t, ts.URL+"/v1/completions", `{"prompt":"磁盘","max_tokens":4,"temperature":0,"ignore_eos":true}`)
	}
	post(t, ts.URL+"/v1/completions", `{"prompt":""}`)
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	for _, want := range []string{
		`divellm_requests_total{code="200",route="/v1/completions"} 3`,
		`divellm_requests_total{code="400",route="/v1/completions"} 1`,
		`divellm_generated_tokens_total 12`,
		`divellm_time_to_first_token_seconds_count 3`,
		`divellm_request_duration_seconds_count{route="/v1/completions"} 4`,
		`divellm_queue_length 0`,
		`divellm_running_batch_size`,
		`divellm_kv_cache_slots_in_use 0`,
		`divellm_kv_cache_slots 16`,
		`divellm_step_duration_seconds_bucket`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
