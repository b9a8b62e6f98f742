package display

import (
	"bytes"
	"encoding/gob"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// degraded forces the non-notebook path, with output files in a temp dir and stdout
// captured in the returned buffer.
func degraded(t *testing.T) *bytes.Buffer {
	t.Helper()
	t.Setenv("DIVELLM_OUT", t.TempDir())
	var buf bytes.Buffer
	oldOut, oldNB := Stdout, notebook
	Stdout, notebook = &buf, func() bool { return false }
	t.Cleanup(func() { Stdout, notebook = oldOut, oldNB })
	return &buf
}

var writtenRE = regexp.MustCompile(`written to (\S+)`)

func writtenPath(t *testing.T, out string) string {
	t.Helper()
	m := writtenRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no path printed in %q", out)
	}
	return m[1]
}

func TestHTMLDegradedWritesPage(t *testing.T) {
	out := degraded(t)
	frag := `<b id="x">你好 & bye</b>`
	if err := HTML(frag); err != nil {
		t.Fatal(err)
	}
	path := writtenPath(t, out.String())
	if filepath.Dir(path) != os.Getenv("DIVELLM_OUT") {
		t.Errorf("file %s not under $DIVELLM_OUT %s", path, os.Getenv("DIVELLM_OUT"))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	if !strings.Contains(page, frag) || !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.Contains(page, `charset="utf-8"`) {
		t.Errorf("page does not wrap the fragment as a UTF-8 document:\n%s", page)
	}
}

func TestOutDirDefaultsToTemp(t *testing.T) {
	t.Setenv("DIVELLM_OUT", "")
	if got := OutDir(); got != os.TempDir() {
		t.Errorf("OutDir() = %q, want %q", got, os.TempDir())
	}
}

func TestTextMarkdownDegradedPrint(t *testing.T) {
	out := degraded(t)
	if err := Text("a < b"); err != nil {
		t.Fatal(err)
	}
	if err := Markdown("# 标题"); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "a < b\n# 标题\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := TextHTML("a<b&c"), `<pre style="margin:0">a&lt;b&amp;c</pre>`; got != want {
		t.Errorf("TextHTML = %q, want %q", got, want)
	}
}

func TestTableHTMLEscapesAndPads(t *testing.T) {
	got := TableHTML([]string{"token", `"id"`}, [][]string{{"</script>", "1"}, {"x"}})
	for _, bad := range []string{"</script>", `"id"`} {
		if strings.Contains(got, bad) {
			t.Errorf("unescaped %q in %s", bad, got)
		}
	}
	for _, want := range []string{"&lt;/script&gt;", "&#34;id&#34;", `<td style="padding:2px 8px"></td></tr>`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %s", want, got)
		}
	}
	if n := strings.Count(got, "<tr>"); n != 3 {
		t.Errorf("%d rows, want 3 (header + 2)", n)
	}
	if n := strings.Count(got, "<td"); n != 4 {
		t.Errorf("%d cells, want 4 (short row padded)", n)
	}
}

func TestTableTextAlignsChinese(t *testing.T) {
	out := degraded(t)
	if err := Table([]string{"词", "id"}, [][]string{{"你好", "1"}, {"ab", "22"}}); err != nil {
		t.Fatal(err)
	}
	want := "词    id\n----  --\n你好  1\nab    22\n"
	if got := out.String(); got != want {
		t.Errorf("table text:\n%q\nwant\n%q", got, want)
	}
	if Width("你好a") != 5 {
		t.Errorf("Width(你好a) = %d, want 5", Width("你好a"))
	}
}

func TestPNGDegradedWritesFile(t *testing.T) {
	out := degraded(t)
	data := []byte("\x89PNG\r\n\x1a\nfake")
	if err := PNG(data); err != nil {
		t.Fatal(err)
	}
	path := writtenPath(t, out.String())
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, data) || filepath.Ext(path) != ".png" {
		t.Errorf("PNG file %s = %q, %v; want the bytes passed", path, got, err)
	}
}

func TestUpdateHTMLDegradedRewritesOneFile(t *testing.T) {
	out := degraded(t)
	id := NewID()
	if !regexp.MustCompile(`^divellm_[0-9a-f]{16}$`).MatchString(id) {
		t.Fatalf("NewID() = %q", id)
	}
	for _, s := range []string{"<p>one</p>", "<p>two</p>"} {
		if err := UpdateHTML(id, s); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(out.String(), "written to"); n != 1 {
		t.Errorf("path printed %d times, want once: %q", n, out.String())
	}
	data, err := os.ReadFile(writtenPath(t, out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "<p>two</p>") || strings.Contains(string(data), "one") {
		t.Errorf("file holds %q, want only the latest update", data)
	}
}

// fakeClock steps a Progress through time deterministically.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestProgressStatsTokensAndETA(t *testing.T) {
	out := degraded(t)
	clock := &fakeClock{t: time.Unix(1000, 0)}
	p := NewProgress(100, "train")
	p.now = clock.now
	p.TokensPerStep = 512
	if err := p.Update(10, map[string]float64{"loss": 3.5}); err != nil {
		t.Fatal(err)
	}
	clock.t = clock.t.Add(4 * time.Second)
	if err := p.Update(30, map[string]float64{"loss": 2.25}); err != nil {
		t.Fatal(err)
	}
	s := p.Stats(clock.t)
	// 20 steps in 4s = 5 steps/s = 2560 tokens/s; 70 steps left = 14s.
	if !s.Tokens || s.Rate != 2560 || s.ETA != 14*time.Second || s.Fraction != 0.3 || s.Elapsed != 4*time.Second {
		t.Errorf("stats = %+v, want 2560 tokens/s, ETA 14s, 30%%, elapsed 4s", s)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("printed %d lines, want 2: %q", len(lines), out.String())
	}
	want := "train 30/100 (30%) elapsed 4.0s ETA 14.0s 2560 tokens/s loss=2.25"
	if lines[1] != want {
		t.Errorf("line = %q\nwant   %q", lines[1], want)
	}
	// Updates closer than PrintEvery are not printed; the final step always is.
	clock.t = clock.t.Add(time.Second)
	_ = p.Update(40, nil)
	clock.t = clock.t.Add(time.Second)
	_ = p.Update(100, nil)
	lines = strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[2], "train 100/100 (100%)") {
		t.Errorf("after final step lines = %q", lines)
	}
}

func TestProgressCumulativeTokensField(t *testing.T) {
	degraded(t)
	clock := &fakeClock{t: time.Unix(0, 0)}
	p := NewProgress(10, "eval")
	p.now = clock.now
	_ = p.Update(0, map[string]float64{"tokens": 100})
	clock.t = clock.t.Add(2 * time.Second)
	_ = p.Update(5, map[string]float64{"tokens": 1100})
	s := p.Stats(clock.t)
	if !s.Tokens || s.Rate != 500 || s.ETA != 2*time.Second {
		t.Errorf("stats = %+v, want 500 tokens/s and ETA 2s", s)
	}
	h := p.HTML(clock.t)
	for _, want := range []string{"width:50.0%", "500 tokens/s", "ETA 2.0s", "5/10"} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML misses %q: %s", want, h)
		}
	}
	if strings.Contains(h, "tokens=") {
		t.Errorf("the tokens counter should not be listed as a field: %s", h)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		1500 * time.Millisecond:                           "1.5s",
		4*time.Minute + 5*time.Second:                     "4m05s",
		time.Hour + 2*time.Minute + 3*time.Second:         "1h02m03s",
		time.Hour + 2*time.Minute + 3400*time.Millisecond: "1h02m03s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestNotebookPathSendsAndSyncs plays GoNB's side of the named pipes: it decodes the
// display messages and acknowledges sync requests, checking each helper sends one
// display with the right MIME type and that HTML waits for the acknowledgement.
func TestNotebookPathSendsAndSyncs(t *testing.T) {
	toKernel, fromKernel := fakeGoNBPipes(t)
	if !IsNotebook() {
		t.Fatal("with $GONB_PIPE set the program should count as a notebook cell")
	}

	var (
		mu    sync.Mutex
		got   []*protocol.DisplayData
		syncs int
	)
	done := make(chan error, 1)
	go func() {
		r, err := os.OpenFile(toKernel, os.O_RDONLY, 0)
		if err != nil {
			done <- err
			return
		}
		defer r.Close()
		w, err := os.OpenFile(fromKernel, os.O_WRONLY, 0)
		if err != nil {
			done <- err
			return
		}
		defer w.Close()
		dec, enc := gob.NewDecoder(r), gob.NewEncoder(w)
		for {
			msg := &protocol.DisplayData{}
			if err := dec.Decode(msg); err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				done <- err
				return
			}
			// gob decodes the interface value as the registered protocol.CommValue.
			if cv, ok := msg.Data[protocol.MIMECommValue].(protocol.CommValue); ok && cv.Address == "#gonbui/sync" {
				mu.Lock()
				syncs++
				mu.Unlock()
				if err := enc.Encode(&protocol.CommValue{Address: protocol.GonbuiSyncAckAddress, Value: cv.Value}); err != nil {
					done <- err
					return
				}
				continue
			}
			mu.Lock()
			got = append(got, msg)
			mu.Unlock()
		}
	}()

	big := strings.Repeat("x", 1<<20) // the size that used to get lost without Sync
	id := NewID()
	steps := []func() error{
		func() error { return HTML("<i>" + big + "</i>") },
		func() error { return Markdown("**m**") },
		func() error { return Table([]string{"a"}, [][]string{{"<b>"}}) },
		func() error { return PNG([]byte("png")) },
		func() error { return UpdateHTML(id, "<p>u</p>") },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		mu.Lock()
		n, s := len(got), syncs
		mu.Unlock()
		if n != i+1 || s != i+1 {
			t.Fatalf("after step %d the kernel saw %d displays and %d syncs, want %d each (a display returned before it was acknowledged)", i, n, s, i+1)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if h, _ := got[0].Data[protocol.MIMETextHTML].(string); len(h) != len(big)+7 {
		t.Errorf("HTML display has %d bytes, want %d", len(h), len(big)+7)
	}
	if m, _ := got[1].Data[protocol.MIMETextMarkdown].(string); m != "**m**" {
		t.Errorf("markdown = %q", m)
	}
	if h, _ := got[2].Data[protocol.MIMETextHTML].(string); !strings.Contains(h, "&lt;b&gt;") {
		t.Errorf("table = %q", h)
	}
	if b, _ := got[3].Data[protocol.MIMEImagePNG].([]byte); string(b) != "png" {
		t.Errorf("png = %q", b)
	}
	if got[4].DisplayID != id {
		t.Errorf("update display id = %q, want %q", got[4].DisplayID, id)
	}
}

// A kernel that goes away without acknowledging makes the display return an error
// instead of hanging the cell.
func TestNotebookPathBrokenPipe(t *testing.T) {
	toKernel, fromKernel := fakeGoNBPipes(t)
	old := client
	client = &pipeClient{waiting: map[int]chan struct{}{}}
	t.Cleanup(func() { client = old })
	go func() {
		r, err := os.OpenFile(toKernel, os.O_RDONLY, 0)
		if err != nil {
			return
		}
		w, err := os.OpenFile(fromKernel, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		_ = gob.NewDecoder(r).Decode(&protocol.DisplayData{}) // read the display, never acknowledge
		w.Close()
		r.Close()
	}()
	if err := HTML("<p>x</p>"); err == nil || !strings.Contains(err.Error(), "notebook connection") {
		t.Fatalf("HTML with a vanished kernel: %v, want a connection error", err)
	}
	if err := Text("again"); err == nil {
		t.Error("a broken connection should stay broken")
	}
}

// fakeGoNBPipes makes the two named pipes GoNB gives a cell and points the environment at
// them, as GoNB does; the test plays the kernel's side.
func fakeGoNBPipes(t *testing.T) (toKernel, fromKernel string) {
	t.Helper()
	dir := t.TempDir()
	toKernel, fromKernel = filepath.Join(dir, "pipe"), filepath.Join(dir, "back")
	for _, p := range []string{toKernel, fromKernel} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}
	t.Setenv(protocol.GONB_PIPE_ENV, toKernel)
	t.Setenv(protocol.GONB_PIPE_BACK_ENV, fromKernel)
	return toKernel, fromKernel
}
