package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// apiError is an OpenAI error object with its HTTP status:
// {"error": {"message", "type", "param", "code"}}.
type apiError struct {
	Status  int
	Message string
	Type    string
	Param   string // "" is written as null
	Code    string // "" is written as null
}

func (e *apiError) Error() string { return e.Message }

func (e *apiError) MarshalJSON() ([]byte, error) {
	type body struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}
	b := body{Message: e.Message, Type: e.Type}
	if e.Param != "" {
		b.Param = &e.Param
	}
	if e.Code != "" {
		b.Code = &e.Code
	}
	return json.Marshal(struct {
		Error body `json:"error"`
	}{b})
}

// invalid is a 400 invalid_request_error about param.
func invalid(param, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param, Message: fmt.Sprintf(format, args...)}
}

// fields is a request body decoded one level deep: every value stays raw until a parser
// for its field reads it, so a wrong type names the field.
type fields map[string]json.RawMessage

// decodeObject parses a JSON object with nothing after it.
func decodeObject(body []byte) (fields, *apiError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var tok json.Token
	tok, err := dec.Token()
	if err != nil {
		return nil, invalid("", "the body is not valid JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, invalid("", "the body must be a JSON object")
	}
	f := fields{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, invalid("", "the body is not valid JSON: %v", err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, invalid("", "the body is not valid JSON: %v", err)
		}
		f[k.(string)] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, invalid("", "the body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, invalid("", "the body has data after its JSON object")
	}
	return f, nil
}

// present reports whether the field is there and not null.
func (f fields) present(name string) bool {
	v, ok := f[name]
	return ok && !isNull(v)
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// kind names a raw JSON value's type for error messages.
func kind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func wrongType(name, want string, v json.RawMessage) *apiError {
	return invalid(name, "%s must be %s, got %s", name, want, kind(v))
}

// number reads an optional number field in [lo, hi]; def when absent or null.
func (f fields) number(name string, def, lo, hi float64) (float64, *apiError) {
	v, ok := f[name]
	if !ok || isNull(v) {
		return def, nil
	}
	if kind(v) != "a number" {
		return 0, wrongType(name, "a number", v)
	}
	x, err := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, invalid(name, "%s must be a finite number, got %s", name, bytes.TrimSpace(v))
	}
	if x < lo || x > hi {
		return 0, invalid(name, "%s must be in [%g, %g], got %g", name, lo, hi, x)
	}
	return x, nil
}

// integer reads an optional integer field in [lo, hi] (1e3 and 16.0 are integers; 16.5 is
// not); def when absent or null.
func (f fields) integer(name string, def, lo, hi int64) (int64, *apiError) {
	v, ok := f[name]
	if !ok || isNull(v) {
		return def, nil
	}
	if kind(v) != "a number" {
		return 0, wrongType(name, "an integer", v)
	}
	s := string(bytes.TrimSpace(v))
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		x, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || x != math.Trunc(x) || math.Abs(x) >= 1<<63 {
			return 0, invalid(name, "%s must be an integer, got %s", name, s)
		}
		n = int64(x)
	}
	if n < lo || n > hi {
		return 0, invalid(name, "%s must be in [%d, %d], got %d", name, lo, hi, n)
	}
	return n, nil
}

// boolean reads an optional boolean field.
func (f fields) boolean(name string, def bool) (bool, *apiError) {
	v, ok := f[name]
	if !ok || isNull(v) {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return false, wrongType(name, "a boolean", v)
	}
	return b, nil
}

// str reads an optional string field.
func (f fields) str(name string) (string, *apiError) {
	v, ok := f[name]
	if !ok || isNull(v) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", wrongType(name, "a string", v)
	}
	return s, nil
}

// strings reads a field that is a string or an array of strings (stop, input).
func (f fields) strings(name string) ([]string, *apiError) {
	v, ok := f[name]
	if !ok || isNull(v) {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(v, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(v, &many); err != nil {
		return nil, wrongType(name, "a string or an array of strings", v)
	}
	return many, nil
}

// neutral checks fields this server does not implement: absent, null or a value that
// asks for nothing (false, 0, "", [], {"type": "text"}) is accepted, anything else is a
// 400 that says the feature is not supported.
func (f fields) neutral(names ...string) *apiError {
	for _, name := range names {
		v, ok := f[name]
		if !ok || isNull(v) {
			continue
		}
		switch s := string(bytes.TrimSpace(v)); s {
		case "false", "0", `""`, "[]", "{}", `"none"`, `"auto"`, `"text"`, `["text"]`:
			continue
		default:
			var rf struct {
				Type string `json:"type"`
			}
			if name == "response_format" && json.Unmarshal(v, &rf) == nil && rf.Type == "text" {
				continue
			}
			if name == "tool_choice" && (s == `"auto"` || s == `"none"`) {
				continue
			}
		}
		return invalid(name, "%s is not supported by this server; leave it out or null", name)
	}
	return nil
}

// limits are the request limits the parsers enforce.
type limits struct {
	maxTokens     int // the largest max_tokens
	maxN          int // the most choices per request (n × prompts)
	maxStop       int // stop strings per request
	maxStopBytes  int // bytes per stop string
	maxLogitBias  int // logit_bias entries
	maxMessages   int // chat messages
	maxInputs     int // texts per classify request
	vocab         int // token ids must be below
	promptTokens  int // the longest prompt, in tokens
	contextTokens int // prompt + max_tokens
}

// sampling is the part of a completion or chat request that controls generation.
type sampling struct {
	maxTokens    int // 0 = not given
	temperature  float64
	topP         float64
	topK         int
	n            int
	stream       bool
	includeUsage bool
	stop         []string
	seed         *uint64
	presence     float64
	frequency    float64
	logitBias    map[int]float64
	ignoreEOS    bool
}

// parseSampling reads the fields completions and chat share. maxTokensField is
// "max_tokens", or for chat "max_completion_tokens" when present.
func parseSampling(f fields, lim limits, chat bool) (*sampling, *apiError) {
	s := &sampling{}
	var e *apiError
	mt := "max_tokens"
	if chat && f.present("max_completion_tokens") {
		mt = "max_completion_tokens"
	}
	var n64 int64
	if n64, e = f.integer(mt, 0, 1, int64(lim.maxTokens)); e != nil {
		if f.present(mt) && e.Message != "" && strings.Contains(e.Message, "must be in") {
			e.Message += fmt.Sprintf(" (this server generates at most %d tokens per request)", lim.maxTokens)
		}
		return nil, e
	}
	s.maxTokens = int(n64)
	if s.temperature, e = f.number("temperature", 1, 0, 2); e != nil {
		return nil, e
	}
	if s.topP, e = f.number("top_p", 1, 0, 1); e != nil {
		return nil, e
	}
	if f.present("top_p") && s.topP == 0 {
		return nil, invalid("top_p", "top_p must be in (0, 1], got 0")
	}
	if n64, e = f.integer("top_k", 0, -1, math.MaxInt32); e != nil { // vLLM's extension; -1 or 0 = all
		return nil, e
	}
	s.topK = max(int(n64), 0)
	if n64, e = f.integer("n", 1, 1, int64(lim.maxN)); e != nil {
		if f.present("n") && strings.Contains(e.Message, "must be in") {
			e.Message += fmt.Sprintf(" (this server returns at most %d choices per request)", lim.maxN)
		}
		return nil, e
	}
	s.n = int(n64)
	if b, e := f.integer("best_of", 1, 1, int64(s.n)); e != nil || b != int64(s.n) && f.present("best_of") {
		return nil, invalid("best_of", "best_of must equal n (%d) on this server", s.n)
	}
	if s.stream, e = f.boolean("stream", false); e != nil {
		return nil, e
	}
	if v, ok := f["stream_options"]; ok && !isNull(v) {
		var so map[string]json.RawMessage
		if err := json.Unmarshal(v, &so); err != nil {
			return nil, wrongType("stream_options", "an object", v)
		}
		if !s.stream {
			return nil, invalid("stream_options", "stream_options is only allowed when stream is true")
		}
		if s.includeUsage, e = fields(so).boolean("include_usage", false); e != nil {
			e.Param = "stream_options.include_usage"
			return nil, e
		}
	}
	if s.stop, e = f.strings("stop"); e != nil {
		return nil, e
	}
	if len(s.stop) > lim.maxStop {
		return nil, invalid("stop", "stop has %d strings; at most %d are allowed", len(s.stop), lim.maxStop)
	}
	for i, st := range s.stop {
		if st == "" || len(st) > lim.maxStopBytes {
			return nil, invalid("stop", "stop[%d] must be 1 to %d bytes long", i, lim.maxStopBytes)
		}
	}
	if f.present("seed") {
		seed, e := f.integer("seed", 0, math.MinInt64, math.MaxInt64)
		if e != nil {
			return nil, e
		}
		u := uint64(seed)
		s.seed = &u
	}
	if s.presence, e = f.number("presence_penalty", 0, -2, 2); e != nil {
		return nil, e
	}
	if s.frequency, e = f.number("frequency_penalty", 0, -2, 2); e != nil {
		return nil, e
	}
	if v, ok := f["logit_bias"]; ok && !isNull(v) {
		var lb map[string]json.RawMessage
		if err := json.Unmarshal(v, &lb); err != nil {
			return nil, wrongType("logit_bias", "an object of token id → bias", v)
		}
		if len(lb) > lim.maxLogitBias {
			return nil, invalid("logit_bias", "logit_bias has %d entries; at most %d are allowed", len(lb), lim.maxLogitBias)
		}
		s.logitBias = map[int]float64{}
		for k := range lb {
			id, err := strconv.Atoi(k)
			if err != nil || id < 0 || id >= lim.vocab {
				return nil, invalid("logit_bias", "logit_bias key %q is not a token id in [0, %d)", k, lim.vocab)
			}
			b, e := fields(lb).number(k, 0, -100, 100)
			if e != nil {
				e.Param = "logit_bias"
				return nil, e
			}
			s.logitBias[id] = b
		}
	}
	if s.ignoreEOS, e = f.boolean("ignore_eos", false); e != nil { // vLLM's extension
		return nil, e
	}
	// OpenAI fields this server does not implement, accepted when they ask for nothing.
	if e := f.neutral("logprobs", "top_logprobs", "suffix", "tools", "functions", "function_call",
		"tool_choice", "response_format", "audio", "prediction", "web_search_options"); e != nil {
		return nil, e
	}
	if v, ok := f["modalities"]; ok && !isNull(v) {
		var mods []string
		if err := json.Unmarshal(v, &mods); err != nil {
			return nil, wrongType("modalities", "an array of strings", v)
		}
		for _, m := range mods {
			if m != "text" {
				return nil, invalid("modalities", "only the text modality is supported")
			}
		}
	}
	for _, name := range []string{"user", "prompt_cache_key", "safety_identifier", "service_tier", "reasoning_effort", "verbosity"} {
		if _, e := f.str(name); e != nil {
			return nil, e
		}
	}
	for _, name := range []string{"store", "parallel_tool_calls"} {
		if _, e := f.boolean(name, false); e != nil {
			return nil, e
		}
	}
	if v, ok := f["metadata"]; ok && !isNull(v) {
		var md map[string]string
		if err := json.Unmarshal(v, &md); err != nil {
			return nil, wrongType("metadata", "an object of strings", v)
		}
	}
	return s, nil
}

// parsePrompt reads a completion prompt: a string, an array of strings, an array of
// token ids or an array of arrays of token ids. Strings are returned in texts, token
// arrays in ids (one of them is nil).
func parsePrompt(f fields) (texts []string, ids [][]int, e *apiError) {
	v, ok := f["prompt"]
	if !ok || isNull(v) {
		return nil, nil, invalid("prompt", "prompt is required")
	}
	var one string
	if json.Unmarshal(v, &one) == nil {
		return []string{one}, nil, nil
	}
	var many []string
	if json.Unmarshal(v, &many) == nil {
		if len(many) == 0 {
			return nil, nil, invalid("prompt", "prompt is an empty array")
		}
		return many, nil, nil
	}
	var toks []int
	if json.Unmarshal(v, &toks) == nil {
		return nil, [][]int{toks}, nil
	}
	var lists [][]int
	if json.Unmarshal(v, &lists) == nil {
		if len(lists) == 0 {
			return nil, nil, invalid("prompt", "prompt is an empty array")
		}
		return nil, lists, nil
	}
	return nil, nil, wrongType("prompt", "a string, an array of strings, an array of token ids or an array of such arrays", v)
}

// parseMessages reads chat messages: objects with a role and a content that is a string or
// an array of text parts.
func parseMessages(f fields, lim limits) ([]ChatMessage, *apiError) {
	v, ok := f["messages"]
	if !ok || isNull(v) {
		return nil, invalid("messages", "messages is required")
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil {
		return nil, wrongType("messages", "an array of message objects", v)
	}
	if len(raw) == 0 {
		return nil, invalid("messages", "messages must not be empty")
	}
	if len(raw) > lim.maxMessages {
		return nil, invalid("messages", "%d messages; at most %d are allowed", len(raw), lim.maxMessages)
	}
	out := make([]ChatMessage, len(raw))
	for i, r := range raw {
		p := fmt.Sprintf("messages[%d]", i)
		var mf map[string]json.RawMessage
		if err := json.Unmarshal(r, &mf); err != nil || kind(r) != "an object" {
			return nil, wrongType(p, "an object", r)
		}
		role, e := fields(mf).str("role")
		if e != nil {
			e.Param = p + ".role"
			return nil, e
		}
		if role == "" {
			return nil, invalid(p+".role", "%s.role is required", p)
		}
		if _, err := DefaultChatTemplate.name(role); err != nil {
			return nil, invalid(p+".role", "%s: %v", p, err)
		}
		content, e := messageContent(mf["content"], p+".content")
		if e != nil {
			return nil, e
		}
		if content == nil {
			if role != "assistant" {
				return nil, invalid(p+".content", "%s.content is required", p)
			}
			empty := ""
			content = &empty
		}
		out[i] = ChatMessage{Role: role, Content: *content}
	}
	return out, nil
}

// messageContent reads a message's content: a string, or an array of {"type": "text",
// "text": …} parts joined together; nil when absent or null.
func messageContent(v json.RawMessage, param string) (*string, *apiError) {
	if v == nil || isNull(v) {
		return nil, nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return &s, nil
	}
	var parts []map[string]json.RawMessage
	if err := json.Unmarshal(v, &parts); err != nil {
		return nil, wrongType(param, "a string or an array of text parts", v)
	}
	var b strings.Builder
	for i, p := range parts {
		typ, e := fields(p).str("type")
		if e != nil || typ != "text" {
			return nil, invalid(fmt.Sprintf("%s[%d].type", param, i), "only text content parts are supported (type \"text\")")
		}
		text, e := fields(p).str("text")
		if e != nil {
			e.Param = fmt.Sprintf("%s[%d].text", param, i)
			return nil, e
		}
		b.WriteString(text)
	}
	s = b.String()
	return &s, nil
}
