package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Encode writes tensors and metadata to w in the safetensors format, laid out as the
// reference implementation does: tensors ordered by dtype size (largest first, so each
// starts at a multiple of its element size) then by name, contiguous offsets, a compact
// JSON header with "__metadata__" first (omitted when empty), padded with spaces so the
// data buffer starts at a multiple of 8 bytes.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	order, err := layout(tensors)
	if err != nil {
		return err
	}
	hdr, err := encodeHeader(tensors, order, metadata)
	if err != nil {
		return err
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hdr)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	for _, i := range order {
		if _, err := w.Write(tensors[i].Data); err != nil {
			return err
		}
	}
	return nil
}

// layout validates the tensors and returns the order of their data in the buffer.
func layout(tensors []Tensor) ([]int, error) {
	seen := make(map[string]bool, len(tensors))
	for i := range tensors {
		t := &tensors[i]
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("tensor %d has an empty name", i)
		case t.Name == metadataKey:
			return nil, fmt.Errorf("tensor name %q is reserved for metadata", metadataKey)
		case seen[t.Name]:
			return nil, fmt.Errorf("duplicate tensor name %q", t.Name)
		}
		seen[t.Name] = true
		if _, err := t.check(); err != nil {
			return nil, err
		}
	}
	order := make([]int, len(tensors))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		x, y := &tensors[order[a]], &tensors[order[b]]
		if x.DType.Size() != y.DType.Size() {
			return x.DType.Size() > y.DType.Size()
		}
		return x.Name < y.Name
	})
	return order, nil
}

func encodeHeader(tensors []Tensor, order []int, metadata map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	str := func(s string) {
		_ = enc.Encode(s)           // a Go string always encodes; invalid UTF-8 becomes U+FFFD
		buf.Truncate(buf.Len() - 1) // Encode appends '\n'
	}
	buf.WriteByte('{')
	first := true
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf.WriteString(`"` + metadataKey + `":{`)
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			str(k)
			buf.WriteByte(':')
			str(metadata[k])
		}
		buf.WriteByte('}')
		first = false
	}
	off := 0
	for _, i := range order {
		t := &tensors[i]
		if !first {
			buf.WriteByte(',')
		}
		first = false
		str(t.Name)
		fmt.Fprintf(&buf, `:{"dtype":"%s","shape":[`, t.DType)
		for j, d := range t.Shape {
			if j > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprint(&buf, d)
		}
		fmt.Fprintf(&buf, `],"data_offsets":[%d,%d]}`, off, off+len(t.Data))
		off += len(t.Data)
	}
	buf.WriteByte('}')
	for buf.Len()%8 != 0 {
		buf.WriteByte(' ')
	}
	return buf.Bytes(), nil
}

// Write stores tensors and metadata as a safetensors file at path (layout as in [Encode]).
// The write is atomic: the data goes to a temporary file in the same directory, is
// fsynced, then renamed over path, so a reader (or a crash) sees either the old file or
// the complete new one, never a partial one.
func Write(path string, tensors []Tensor, metadata map[string]string) (err error) {
	if isPickleName(path) {
		return fmt.Errorf("safetensors: write %s: use a .safetensors name (a .bin/.pt name suggests a pickle file)", path)
	}
	if _, err := layout(tensors); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
			err = fmt.Errorf("safetensors: write %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = Encode(bw, tensors, metadata); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// WriteDirAtomic builds a checkpoint directory (weights, config.json, tokenizer…) in a
// temporary sibling of dir by calling fill with its path, then swaps it into place. The
// old dir is kept, renamed to a ".<name>.old" sibling, until the new one is complete and
// in place, then removed. If fill fails, dir is left untouched and the temporary
// directory removed.
//
// A crash between the two renames leaves only the backup; the next WriteDirAtomic for the
// same dir restores it first (and removes stale temporaries). Only one writer per dir at
// a time.
func WriteDirAtomic(dir string, fill func(tmpDir string) error) (err error) {
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	backup := filepath.Join(parent, "."+base+".old")
	wrap := func(err error) error { return fmt.Errorf("safetensors: write dir %s: %w", dir, err) }

	// Recover from an interrupted earlier swap.
	if _, statErr := os.Stat(backup); statErr == nil {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			if err := os.Rename(backup, dir); err != nil {
				return wrap(fmt.Errorf("restore backup: %w", err))
			}
		} else if err := os.RemoveAll(backup); err != nil {
			return wrap(err)
		}
	}
	if stale, _ := filepath.Glob(filepath.Join(parent, "."+base+".tmp-*")); len(stale) > 0 {
		for _, s := range stale {
			_ = os.RemoveAll(s)
		}
	}

	if err := os.MkdirAll(parent, 0o755); err != nil {
		return wrap(err)
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-*")
	if err != nil {
		return wrap(err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return wrap(err)
	}
	if err := fill(tmp); err != nil {
		return wrap(err)
	}
	if err := syncTree(tmp); err != nil {
		return wrap(err)
	}
	hadOld := false
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return wrap(fmt.Errorf("exists and is not a directory"))
		}
		if err := os.Rename(dir, backup); err != nil {
			return wrap(err)
		}
		hadOld = true
	}
	if err := os.Rename(tmp, dir); err != nil {
		if hadOld {
			_ = os.Rename(backup, dir)
		}
		return wrap(err)
	}
	syncDir(parent)
	if hadOld {
		if err := os.RemoveAll(backup); err != nil {
			return wrap(fmt.Errorf("new checkpoint in place, but removing the old one failed: %w", err))
		}
	}
	return nil
}

// syncTree fsyncs every regular file under root and the directories themselves, so the
// rename that publishes root never exposes files whose data is not yet on disk.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			syncDir(p)
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Sync(); err != nil && !strings.Contains(err.Error(), "invalid argument") {
			return err
		}
		return nil
	})
}

// syncDir makes a rename in dir durable where the OS allows fsync on directories.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
