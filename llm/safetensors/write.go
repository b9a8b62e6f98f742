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

// MarkerFile is written into every directory [WriteDirAtomic] makes. It lists the files
// divellm wrote there, so a later write may replace the directory only when it holds
// nothing else: a user's notes.txt, a source checkpoint or a home directory are never
// deleted.
const MarkerFile = ".divellm-checkpoint"

// marker is the content of [MarkerFile].
type marker struct {
	Writer string   `json:"writer"`
	Files  []string `json:"files"`
}

// ErrNotReplaceable is wrapped by the error of [CheckReplaceable].
var ErrNotReplaceable = errors.New("not a directory divellm may replace")

// CheckReplaceable reports whether [WriteDirAtomic] may replace dir: it does not exist, or
// it is an empty directory, or it is a directory divellm wrote whose entries are all
// listed in its [MarkerFile]. Anything else (other files, subdirectories, no marker, the
// working directory or one of its parents, a regular file) is refused with an error that
// names what is in the way.
func CheckReplaceable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	st, err := os.Lstat(abs)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	refuse := func(why string) error {
		return fmt.Errorf("refusing to replace %s: %s (%w); choose a new output directory", dir, why, ErrNotReplaceable)
	}
	if st.Mode()&os.ModeSymlink != 0 {
		return refuse("it is a symbolic link")
	}
	if !st.IsDir() {
		return refuse("it is not a directory")
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(abs, wd); err == nil && (rel == "." || filepath.IsLocal(rel)) {
			return refuse("it is the working directory or one of its parents")
		}
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	raw, err := os.ReadFile(filepath.Join(abs, MarkerFile))
	if err != nil {
		names := make([]string, 0, 3)
		for _, e := range entries[:min(3, len(entries))] {
			names = append(names, e.Name())
		}
		more := ""
		if len(entries) > 3 {
			more = fmt.Sprintf(" and %d more", len(entries)-3)
		}
		return refuse(fmt.Sprintf("it holds %s%s and no %s marker, so divellm did not write it", strings.Join(names, ", "), more, MarkerFile))
	}
	var mk marker
	if json.Unmarshal(raw, &mk) != nil || mk.Writer != "divellm" {
		return refuse("its " + MarkerFile + " marker is not divellm's")
	}
	listed := map[string]bool{MarkerFile: true}
	for _, f := range mk.Files {
		listed[f] = true
	}
	for _, e := range entries {
		if !listed[e.Name()] || !e.Type().IsRegular() {
			return refuse(fmt.Sprintf("it holds %q, which divellm did not write", e.Name()))
		}
	}
	return nil
}

// RecoverDir finishes an interrupted [WriteDirAtomic]: when a crash happened between its
// two renames, dir is missing and only its ".<name>.old" backup exists; RecoverDir renames
// the backup back and reports true. It does nothing (false) otherwise.
func RecoverDir(dir string) (bool, error) {
	dir = filepath.Clean(dir)
	backup := filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".old")
	if _, err := os.Stat(backup); err != nil {
		return false, nil
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err := os.Rename(backup, dir); err != nil {
		return false, fmt.Errorf("restore %s from %s: %w", dir, backup, err)
	}
	syncDir(filepath.Dir(dir))
	return true, nil
}

// WriteDirAtomic builds a checkpoint directory (weights, config.json, tokenizer…) in a
// temporary sibling of dir by calling fill with its path, then swaps it into place. The
// old dir is kept, renamed to a ".<name>.old" sibling, until the new one is complete and
// in place, then removed. If fill fails, dir is left untouched and the temporary
// directory removed.
//
// Only a directory [CheckReplaceable] accepts is replaced; the new one gets a
// [MarkerFile] listing the files fill wrote. A crash between the two renames leaves only
// the backup; [RecoverDir] (which the next WriteDirAtomic, and llm.Load, call) restores
// it. Only one writer per dir at a time.
func WriteDirAtomic(dir string, fill func(tmpDir string) error) (err error) {
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	backup := filepath.Join(parent, "."+base+".old")
	wrap := func(err error) error { return fmt.Errorf("safetensors: write dir %s: %w", dir, err) }
	if base == "." || base == ".." || base == string(filepath.Separator) {
		return wrap(fmt.Errorf("not a usable directory name"))
	}

	// Recover from an interrupted earlier swap.
	if _, err := RecoverDir(dir); err != nil {
		return wrap(err)
	}
	if err := CheckReplaceable(dir); err != nil {
		return err
	}
	if _, statErr := os.Stat(backup); statErr == nil {
		// dir exists and is complete: the backup is a leftover of a finished swap.
		if err := os.RemoveAll(backup); err != nil {
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
	if err := writeMarker(tmp); err != nil {
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

// writeMarker lists the regular files of dir in its MarkerFile.
func writeMarker(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	mk := marker{Writer: "divellm", Files: []string{}}
	for _, e := range entries {
		if e.Name() == MarkerFile {
			continue
		}
		if !e.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file: a checkpoint holds only files", e.Name())
		}
		mk.Files = append(mk.Files, e.Name())
	}
	b, _ := json.MarshalIndent(mk, "", "  ")
	return os.WriteFile(filepath.Join(dir, MarkerFile), append(b, '\n'), 0o644)
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

// WriteFileInDir writes one more file (atomically) into a directory [WriteDirAtomic] made
// and records it in the directory's [MarkerFile], so the directory stays replaceable. It
// refuses a directory without divellm's marker, and names that are not plain file names.
func WriteFileInDir(dir, name string, data []byte) error {
	if name != filepath.Base(name) || !filepath.IsLocal(name) || name == MarkerFile {
		return fmt.Errorf("safetensors: %q is not a plain file name", name)
	}
	mpath := filepath.Join(dir, MarkerFile)
	raw, err := os.ReadFile(mpath)
	if err != nil {
		return fmt.Errorf("safetensors: %s was not written by divellm (no %s): %w", dir, MarkerFile, err)
	}
	var mk marker
	if err := json.Unmarshal(raw, &mk); err != nil || mk.Writer != "divellm" {
		return fmt.Errorf("safetensors: %s: its %s marker is not divellm's", dir, MarkerFile)
	}
	if err := writeFileAtomic(filepath.Join(dir, name), data); err != nil {
		return err
	}
	for _, f := range mk.Files {
		if f == name {
			return nil
		}
	}
	mk.Files = append(mk.Files, name)
	sort.Strings(mk.Files)
	b, _ := json.MarshalIndent(mk, "", "  ")
	return writeFileAtomic(mpath, append(b, '\n'))
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and renames it
// over path.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}
