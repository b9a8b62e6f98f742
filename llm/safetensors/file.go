package safetensors

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/divellm/divellm/internal/fileio"
	"github.com/edsrzf/mmap-go"
)

// ErrPickle is returned for PyTorch pickle checkpoints (pytorch_model.bin, *.pt, *.pth),
// which this package refuses to read: unpickling runs arbitrary code. Convert them once
// with Python, see [PickleAdvice].
var ErrPickle = errors.New("PyTorch pickle checkpoint, not safetensors")

// PickleAdvice is the one-line command that converts a Hugging Face checkpoint directory
// from pytorch_model.bin to model.safetensors (replace DIR). AutoModel keeps only the base
// model; for a checkpoint with heads use the class named in config.json's "architectures"
// (e.g. AutoModelForMaskedLM), or [StateDictAdvice], which converts every tensor as is.
const PickleAdvice = `python -c "from transformers import AutoModel; AutoModel.from_pretrained('DIR').save_pretrained('DIR', safe_serialization=True)"`

// StateDictAdvice converts DIR/pytorch_model.bin tensor by tensor, heads included, with
// only torch and the safetensors package (clone() unties shared weights, which
// save_file refuses; weights_only=True keeps torch.load from running code in the pickle).
const StateDictAdvice = `python -c "import torch; from safetensors.torch import save_file; sd = torch.load('DIR/pytorch_model.bin', map_location='cpu', weights_only=True); save_file({k: v.clone().contiguous() for k, v in sd.items()}, 'DIR/model.safetensors', metadata={'format': 'pt'})"`

// File is an open safetensors file. Its data buffer is memory-mapped read-only (or read
// into memory where mapping is not possible), and its header has been fully validated.
// A File may be read from several goroutines; Close must not race with other methods.
type File struct {
	// Metadata is the header's "__metadata__" (never nil; HF writes {"format": "pt"}).
	Metadata map[string]string

	path   string
	data   []byte
	mm     mmap.MMap // nil when data is a plain buffer
	hdr    *header
	closed bool
}

// Open memory-maps the safetensors file at path and validates its whole header.
// A pytorch_model.bin (or other pickle checkpoint) is refused with [ErrPickle].
func Open(path string) (*File, error) {
	if isPickleName(path) {
		return nil, pickleError(path)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, dirError(path)
	}
	// Regular files only: /dev/urandom would be read until memory runs out, a FIFO would
	// block. The header is then validated in full before anything is allocated from it.
	f, size, err := fileio.Open(path, 0)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	var data []byte
	var mm mmap.MMap
	if size >= 8 {
		mm, err = mmap.Map(f, mmap.RDONLY, 0)
		if err == nil {
			data = mm
		}
	}
	if mm == nil { // tiny file, or a file system without mmap: read it.
		data, err = io.ReadAll(f)
		if err != nil {
			return nil, fmt.Errorf("safetensors: read %s: %w", path, err)
		}
	}
	sf, err := parse(path, data)
	if err != nil {
		if mm != nil {
			_ = mm.Unmap()
		}
		return nil, err
	}
	sf.mm = mm
	return sf, nil
}

// Parse validates a whole safetensors file held in memory and returns a File whose
// tensors alias b. Close is then a no-op.
func Parse(b []byte) (*File, error) { return parse("<memory>", b) }

func parse(path string, b []byte) (*File, error) {
	h, err := parseHeader(b)
	if err != nil {
		if looksLikePickle(b) {
			return nil, pickleError(path)
		}
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return &File{Metadata: h.metadata, path: path, data: b, hdr: h}, nil
}

// Path returns the path the file was opened from.
func (f *File) Path() string { return f.path }

// Names returns the tensor names, sorted.
func (f *File) Names() []string {
	names := make([]string, len(f.hdr.infos))
	for i, info := range f.hdr.infos {
		names[i] = info.Name
	}
	return names
}

// Infos returns every tensor's name, dtype, shape and byte range, sorted by name.
func (f *File) Infos() []TensorInfo {
	out := make([]TensorInfo, len(f.hdr.infos))
	for i, info := range f.hdr.infos {
		info.Shape = cloneShape(info.Shape)
		out[i] = info
	}
	return out
}

// Info returns one tensor's header entry; ok is false if there is no such tensor.
func (f *File) Info(name string) (info TensorInfo, ok bool) {
	i, ok := f.hdr.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	info = f.hdr.infos[i]
	info.Shape = cloneShape(info.Shape)
	return info, true
}

// Get returns the named tensor. Its Data aliases the file's mapping: read-only, valid
// until Close. Copy it (or use [ReadAll]) to keep it longer.
func (f *File) Get(name string) (*Tensor, error) {
	if f.closed {
		return nil, fmt.Errorf("safetensors: %s: Get(%q) after Close", f.path, name)
	}
	i, ok := f.hdr.index[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: no tensor %q (the file has %d tensors%s)", f.path, name, len(f.hdr.infos), nameHint(f.Names(), name))
	}
	info := f.hdr.infos[i]
	b, e := f.hdr.dataStart+info.Begin, f.hdr.dataStart+info.End
	return &Tensor{Name: name, DType: info.DType, Shape: cloneShape(info.Shape), Data: f.data[b:e:e]}, nil
}

// Close unmaps the file. Tensors returned by Get must not be used afterwards.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	f.data = nil
	if f.mm != nil {
		if err := f.mm.Unmap(); err != nil {
			return fmt.Errorf("safetensors: close %s: %w", f.path, err)
		}
		f.mm = nil
	}
	return nil
}

// ReadAll reads every tensor of the file at path into memory (copies, no mapping kept),
// keyed by name, together with the metadata.
func ReadAll(path string) (map[string]*Tensor, map[string]string, error) {
	f, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	out := make(map[string]*Tensor, len(f.hdr.infos))
	for _, name := range f.Names() {
		t, err := f.Get(name)
		if err != nil {
			return nil, nil, err
		}
		t.Data = bytes.Clone(t.Data)
		if t.Data == nil {
			t.Data = []byte{}
		}
		out[name] = t
	}
	return out, f.Metadata, nil
}

// nameHint suggests names sharing the last path component, e.g. for a missing
// "transformer." prefix.
func nameHint(names []string, want string) string {
	last := want[strings.LastIndex(want, ".")+1:]
	var close []string
	for _, n := range names {
		if strings.HasSuffix(n, want) || strings.HasSuffix(want, n) {
			close = append(close, n)
		}
	}
	if len(close) == 0 {
		for _, n := range names {
			if strings.HasSuffix(n, "."+last) && len(close) < 3 {
				close = append(close, n)
			}
		}
	}
	if len(close) == 0 {
		return ""
	}
	return "; similar: " + strings.Join(close, ", ")
}

func isPickleName(path string) bool {
	base := strings.ToLower(filepath.Base(path))
	switch filepath.Ext(base) {
	case ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle":
		return true
	}
	return false
}

// looksLikePickle recognizes PyTorch's zip container ("PK\x03\x04") and a raw pickle
// stream (protocol opcode 0x80 followed by a protocol number 2–5).
func looksLikePickle(b []byte) bool {
	return bytes.HasPrefix(b, []byte("PK\x03\x04")) || (len(b) >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5)
}

func pickleError(path string) error {
	dir := filepath.Dir(path)
	return fmt.Errorf("safetensors: %s: %w: pickle files can run code when loaded, so divellm reads only safetensors; convert once with:\n  %s\n(AutoModel keeps only the base model; to keep every tensor, heads included:\n  %s)",
		path, ErrPickle, strings.ReplaceAll(PickleAdvice, "DIR", dir), strings.ReplaceAll(StateDictAdvice, "DIR", dir))
}

func dirError(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		return fmt.Errorf("safetensors: %s is a directory: open %s", dir, filepath.Join(dir, "model.safetensors"))
	}
	if _, err := os.Stat(filepath.Join(dir, "pytorch_model.bin")); err == nil {
		return pickleError(filepath.Join(dir, "pytorch_model.bin"))
	}
	return fmt.Errorf("safetensors: %s is a directory, not a .safetensors file", dir)
}

// Release tells the operating system that the named tensor's bytes will not be read
// again, so a loader that has converted it can keep peak memory near one copy of the
// model instead of two (mapped pages count in the resident set). The tensor may still be
// read afterwards: the pages are reloaded from the file. It is a no-op for files that are
// not memory-mapped.
func (f *File) Release(name string) {
	if f.closed || f.mm == nil {
		return
	}
	i, ok := f.hdr.index[name]
	if !ok {
		return
	}
	info := f.hdr.infos[i]
	b, e := f.hdr.dataStart+info.Begin, f.hdr.dataStart+info.End
	page := syscall.Getpagesize()
	// Whole pages inside the tensor only: neighbours keep theirs.
	b = (b + page - 1) / page * page
	e = e / page * page
	if e > b {
		_ = madviseDontNeed(f.data[b:e])
	}
}
