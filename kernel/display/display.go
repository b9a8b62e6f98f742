package display

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// Stdout is where the degraded (non-notebook) path prints text and file paths.
// Tests replace it; it defaults to os.Stdout.
var Stdout io.Writer = os.Stdout

// notebook reports whether we run inside GoNB; a variable so tests can force either path.
var notebook = inGoNB

// IsNotebook reports whether the program runs as a GoNB notebook cell (display output goes
// to the notebook) rather than as a plain program (output degrades to stdout and files).
func IsNotebook() bool { return notebook() }

// OutDir is the directory where the degraded path writes HTML and image files:
// $DIVELLM_OUT if set, else the system temp directory.
func OutDir() string {
	if d := os.Getenv("DIVELLM_OUT"); d != "" {
		return d
	}
	return os.TempDir()
}

// CreateFile creates a new file with a unique name in OutDir, following os.CreateTemp's
// pattern rules ("attention-*.html"). The caller closes it.
func CreateFile(pattern string) (*os.File, error) {
	dir := OutDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("display: create output dir %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("display: create file in %s: %w", dir, err)
	}
	return f, nil
}

// WriteFile writes data to a new uniquely named file in OutDir (see CreateFile) and returns
// its path.
func WriteFile(pattern string, data []byte) (string, error) {
	f, err := CreateFile(pattern)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", fmt.Errorf("display: write %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("display: close %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

// HTMLPage wraps an HTML fragment in a minimal standalone UTF-8 page with the given title.
func HTMLPage(title, body string) string {
	return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html.EscapeString(title) +
		"</title></head>\n<body>\n" + body + "\n</body></html>\n"
}

// HTML displays an HTML fragment in the cell output. Outside a notebook it writes the
// fragment as a standalone page under OutDir and prints the path.
func HTML(fragment string) error {
	if IsNotebook() {
		return show(protocol.MIMETextHTML, fragment, "")
	}
	path, err := WriteFile("divellm-*.html", []byte(HTMLPage("divellm output", fragment)))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(Stdout, "HTML written to %s\n", path)
	return err
}

// Markdown displays Markdown (with $…$ LaTeX) in the cell output. Outside a notebook it
// prints the Markdown source to stdout.
func Markdown(md string) error {
	if IsNotebook() {
		return show(protocol.MIMETextMarkdown, md, "")
	}
	_, err := fmt.Fprintln(Stdout, md)
	return err
}

// Text displays preformatted text (HTML-escaped, in a <pre>) in the cell output, ordered
// with the other displays. Outside a notebook it prints the text to stdout.
func Text(s string) error {
	if IsNotebook() {
		return show(protocol.MIMETextHTML, TextHTML(s), "")
	}
	_, err := fmt.Fprintln(Stdout, s)
	return err
}

// TextHTML returns s escaped inside a <pre> block.
func TextHTML(s string) string {
	return "<pre style=\"margin:0\">" + html.EscapeString(s) + "</pre>"
}

// TableHTML returns an HTML table with one header row and the given rows. Every cell is
// HTML-escaped; rows shorter than headers are padded with empty cells.
func TableHTML(headers []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString(`<table class="divellm-table" style="border-collapse:collapse;font-variant-numeric:tabular-nums">`)
	if len(headers) > 0 {
		b.WriteString("<thead><tr>")
		for _, h := range headers {
			b.WriteString(`<th style="border-bottom:1px solid #888;padding:2px 8px;text-align:left">`)
			b.WriteString(html.EscapeString(h))
			b.WriteString("</th>")
		}
		b.WriteString("</tr></thead>")
	}
	b.WriteString("<tbody>")
	n := len(headers)
	for _, r := range rows {
		if len(r) > n {
			n = len(r)
		}
	}
	for _, r := range rows {
		b.WriteString("<tr>")
		for i := 0; i < n; i++ {
			cell := ""
			if i < len(r) {
				cell = r[i]
			}
			b.WriteString(`<td style="padding:2px 8px">`)
			b.WriteString(html.EscapeString(cell))
			b.WriteString("</td>")
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	return b.String()
}

// TableText returns the table as aligned plain text: columns padded to their widest cell,
// a dashed line under the header. Widths count East Asian wide characters (Chinese) as two
// terminal columns, so Chinese tables line up in a terminal.
func TableText(headers []string, rows [][]string) string {
	n := len(headers)
	for _, r := range rows {
		if len(r) > n {
			n = len(r)
		}
	}
	width := make([]int, n)
	measure := func(r []string) {
		for i, c := range r {
			if w := Width(c); w > width[i] {
				width[i] = w
			}
		}
	}
	measure(headers)
	for _, r := range rows {
		measure(r)
	}
	var b strings.Builder
	line := func(r []string) {
		for i := 0; i < n; i++ {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c)
			if i < n-1 {
				b.WriteString(strings.Repeat(" ", width[i]-Width(c)))
			}
		}
		b.WriteString("\n")
	}
	if len(headers) > 0 {
		line(headers)
		dashes := make([]string, n)
		for i := range dashes {
			dashes[i] = strings.Repeat("-", width[i])
		}
		line(dashes)
	}
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

// Table displays a table (see TableHTML). Outside a notebook it prints TableText.
func Table(headers []string, rows [][]string) error {
	if IsNotebook() {
		return show(protocol.MIMETextHTML, TableHTML(headers, rows), "")
	}
	_, err := io.WriteString(Stdout, TableText(headers, rows))
	return err
}

// PNG displays PNG-encoded image bytes. Outside a notebook it writes them to a .png file
// under OutDir and prints the path.
func PNG(data []byte) error {
	if IsNotebook() {
		return show(protocol.MIMEImagePNG, data, "")
	}
	path, err := WriteFile("divellm-*.png", data)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(Stdout, "PNG written to %s\n", path)
	return err
}

// Image encodes img as PNG and displays it (see PNG).
func Image(img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("display: encode PNG: %w", err)
	}
	return PNG(buf.Bytes())
}

// NewID returns a fresh display id for UpdateHTML. It is also a valid HTML id and JS
// identifier fragment: "divellm_" followed by 16 hex digits.
func NewID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms.
	}
	return "divellm_" + hex.EncodeToString(b[:])
}

var (
	updMu    sync.Mutex
	updFiles = map[string]string{} // display id -> file written by the degraded path
)

// UpdateHTML shows html in the output block identified by id: the first call for an id
// creates the block in the current cell, later calls replace its content in place (used for
// live charts and progress bars). Outside a notebook each call rewrites one file per id
// under OutDir; its path is printed on the first call.
func UpdateHTML(id, fragment string) error {
	if IsNotebook() {
		return show(protocol.MIMETextHTML, fragment, id)
	}
	updMu.Lock()
	defer updMu.Unlock()
	page := []byte(HTMLPage("divellm "+id, fragment))
	if path, ok := updFiles[id]; ok {
		if err := os.WriteFile(path, page, 0o644); err != nil {
			return fmt.Errorf("display: update %s: %w", path, err)
		}
		return nil
	}
	path, err := WriteFile(filepath.Base("divellm-"+sanitize(id)+"-*.html"), page)
	if err != nil {
		return err
	}
	updFiles[id] = path
	_, err = fmt.Fprintf(Stdout, "HTML (updated in place) written to %s\n", path)
	return err
}

// sanitize keeps [A-Za-z0-9_-] so an id can be part of a file name.
func sanitize(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, id)
}

// Width returns the number of terminal columns s occupies: 2 for East Asian wide and
// full-width characters (CJK ideographs, kana, Hangul, full-width forms), 1 otherwise.
func Width(s string) int {
	w := 0
	for _, r := range s {
		w++
		if isWide(r) {
			w++
		}
	}
	return w
}

func isWide(r rune) bool {
	switch {
	case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0x303E, r >= 0x3041 && r <= 0x33FF,
		r >= 0x3400 && r <= 0x4DBF, r >= 0x4E00 && r <= 0x9FFF, r >= 0xA000 && r <= 0xA4CF,
		r >= 0xAC00 && r <= 0xD7A3, r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F,
		r >= 0xFF00 && r <= 0xFF60, r >= 0xFFE0 && r <= 0xFFE6, r >= 0x20000 && r <= 0x3FFFD:
		return true
	}
	return false
}
