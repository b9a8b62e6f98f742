package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every error about a malformed safetensors file.
var ErrInvalid = errors.New("invalid safetensors")

// MaxHeaderSize is the largest header accepted, the reference implementation's limit.
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved header key for the string → string metadata.
const metadataKey = "__metadata__"

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// TensorInfo describes one tensor of a file's header without its data.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
	// Begin and End are the tensor's byte range [Begin, End) in the data buffer, which
	// starts right after the header.
	Begin, End int
}

// header is a parsed, validated header.
type header struct {
	infos     []TensorInfo // sorted by name
	index     map[string]int
	metadata  map[string]string
	dataStart int // offset of the data buffer in the file: 8 + header length
}

// rawEntry is one tensor's header entry as JSON; pointers tell "missing" from "empty".
type rawEntry struct {
	DType   *string       `json:"dtype"`
	Shape   []json.Number `json:"shape"`
	Offsets []json.Number `json:"data_offsets"`
}

// parseHeader parses and validates the header of a whole safetensors file held in b.
// It checks everything that can be checked without looking at the tensor values.
func parseHeader(b []byte) (*header, error) {
	if len(b) < 8 {
		return nil, invalidf("truncated file: %d bytes, need at least 8 for the header length", len(b))
	}
	n64 := binary.LittleEndian.Uint64(b[:8])
	rest := uint64(len(b) - 8)
	if n64 > rest {
		return nil, invalidf("header length %d larger than the file (%d bytes after the 8-byte length prefix): truncated file, or not a safetensors file", n64, rest)
	}
	if n64 > MaxHeaderSize {
		return nil, invalidf("header length %d above the %d-byte limit", n64, MaxHeaderSize)
	}
	n := int(n64)
	raw := b[8 : 8+n]
	if n < 2 || raw[0] != '{' {
		return nil, invalidf("header is not JSON: it must start with '{'")
	}
	if !utf8.Valid(raw) {
		return nil, invalidf("header is not valid UTF-8")
	}
	h := &header{index: map[string]int{}, dataStart: 8 + n}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // the '{' checked above
		return nil, invalidf("header is not JSON: %v", err)
	}
	seenMeta := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalidf("header is not JSON: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, invalidf("header is not JSON: unexpected %v", tok)
		}
		if name == metadataKey {
			if seenMeta {
				return nil, invalidf("duplicate %s", metadataKey)
			}
			seenMeta = true
			var m map[string]string
			if err := dec.Decode(&m); err != nil {
				if isSyntax(err) {
					return nil, invalidf("header is not JSON: %v", err)
				}
				return nil, invalidf("%s must be an object of string → string: %v", metadataKey, err)
			}
			h.metadata = m
			continue
		}
		if _, dup := h.index[name]; dup {
			return nil, invalidf("duplicate tensor name %q", name)
		}
		var e rawEntry
		if err := dec.Decode(&e); err != nil {
			if isSyntax(err) {
				return nil, invalidf("header is not JSON: %v", err)
			}
			return nil, invalidf("tensor %q: header entry is not {dtype, shape, data_offsets}: %v", name, err)
		}
		info, err := e.info(name)
		if err != nil {
			return nil, err
		}
		h.index[name] = len(h.infos)
		h.infos = append(h.infos, info)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, invalidf("header is not JSON: %v", err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		return nil, invalidf("header is not JSON: unexpected %v after the object (err %v)", tok, err)
	}
	if err := checkLayout(h.infos, len(b)-h.dataStart); err != nil {
		return nil, err
	}
	sort.Slice(h.infos, func(i, j int) bool { return h.infos[i].Name < h.infos[j].Name })
	for i, info := range h.infos {
		h.index[info.Name] = i
	}
	if h.metadata == nil {
		h.metadata = map[string]string{}
	}
	return h, nil
}

func (e *rawEntry) info(name string) (TensorInfo, error) {
	info := TensorInfo{Name: name}
	if name == "" {
		return info, invalidf("empty tensor name")
	}
	if e.DType == nil {
		return info, invalidf("tensor %q: missing dtype", name)
	}
	dt, err := parseDType(*e.DType)
	if err != nil {
		return info, invalidf("tensor %q: %v", name, err)
	}
	info.DType = dt
	if e.Shape == nil {
		return info, invalidf("tensor %q: missing shape", name)
	}
	info.Shape = make([]int, len(e.Shape))
	for i, s := range e.Shape {
		d, err := strconv.ParseInt(string(s), 10, strconv.IntSize)
		if err != nil {
			return info, invalidf("tensor %q: shape %v: dimension %s is not an integer in range", name, e.Shape, s)
		}
		if d < 0 {
			return info, invalidf("tensor %q: shape %v: negative dimension %d", name, e.Shape, d)
		}
		info.Shape[i] = int(d)
	}
	if len(e.Offsets) != 2 {
		return info, invalidf("tensor %q: data_offsets must be [begin, end], have %d numbers", name, len(e.Offsets))
	}
	var off [2]int
	for i, s := range e.Offsets {
		v, err := strconv.ParseInt(string(s), 10, strconv.IntSize)
		if err != nil || v < 0 {
			return info, invalidf("tensor %q: data_offsets %v: %s is not a non-negative integer", name, e.Offsets, s)
		}
		off[i] = int(v)
	}
	info.Begin, info.End = off[0], off[1]
	if info.End < info.Begin {
		return info, invalidf("tensor %q: data_offsets [%d, %d] end before begin", name, info.Begin, info.End)
	}
	numel, err := numElements(info.Shape)
	if err != nil || numel > math.MaxInt/dt.Size() {
		return info, invalidf("tensor %q: shape %v has too many elements", name, info.Shape)
	}
	if want := numel * dt.Size(); info.End-info.Begin != want {
		return info, invalidf("tensor %q: shape %v × %s (%d bytes each) = %d bytes, but data_offsets [%d, %d] span %d",
			name, info.Shape, dt, dt.Size(), want, info.Begin, info.End, info.End-info.Begin)
	}
	return info, nil
}

// checkLayout verifies that the byte ranges tile the data buffer of size dataLen exactly:
// sorted by offset, each tensor begins where the previous ended, and the last ends at the
// end of the file.
func checkLayout(infos []TensorInfo, dataLen int) error {
	order := make([]int, len(infos))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := infos[order[a]], infos[order[b]]
		if x.Begin != y.Begin {
			return x.Begin < y.Begin
		}
		return x.End < y.End
	})
	pos, prev := 0, ""
	for _, i := range order {
		t := infos[i]
		switch {
		case t.Begin < pos:
			return invalidf("tensor %q: data_offsets [%d, %d] overlap tensor %q, which ends at %d", t.Name, t.Begin, t.End, prev, pos)
		case t.Begin > pos:
			return invalidf("tensor %q: data_offsets [%d, %d] leave a gap of %d bytes at %d not covered by any tensor", t.Name, t.Begin, t.End, t.Begin-pos, pos)
		}
		pos, prev = t.End, t.Name
	}
	switch {
	case pos > dataLen:
		return invalidf("truncated file: tensors need %d bytes of data but only %d follow the header (tensor %q ends past the end of the file)", pos, dataLen, prev)
	case pos < dataLen:
		return invalidf("%d bytes of data after the last tensor (offset %d) are not covered by any tensor", dataLen-pos, pos)
	}
	return nil
}

// isSyntax tells malformed JSON from well-formed JSON of the wrong shape.
func isSyntax(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF)
}
