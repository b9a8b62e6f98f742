package viz

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"regexp"
	"strings"

	"github.com/divellm/divellm/kernel/display"
)

//go:embed assets/echarts.min.js
var echartsJS string

//go:embed assets/runtime.js
var runtimeJS string

// EChartsVersion is the version of the embedded Apache ECharts bundle.
const EChartsVersion = "5.4.3"

// Budget is the target size of one chart's HTML output in bytes (data + bootstrap); the
// library itself is sent once by Init. Attention data is packed to fit it.
const Budget = 50 * 1024

// Chart is a chart ready to show in a notebook (Show), embed (HTML) or save as a standalone
// page (Save). Build one with a view function such as Attention or Bars.
type Chart struct {
	spec  map[string]any
	err   error
	title string
	name  string // file name stem for saveAsImage and degraded Show
	html  string // for non-ECharts views (Tokens): ready HTML fragment
}

func errChart(name string, err error) *Chart {
	return &Chart{name: name, err: fmt.Errorf("viz.%s: %w", name, err)}
}

// Err returns why the chart could not be built, or nil.
func (c *Chart) Err() error { return c.err }

// Title sets the chart's title and returns c.
func (c *Chart) Title(title string) *Chart {
	c.title = title
	return c
}

// Size sets the chart's CSS width and height (for example "900px", "100%") and returns c.
// The attention views size themselves from the number of tokens unless this is called.
func (c *Chart) Size(width, height string) *Chart {
	if c.spec != nil {
		c.spec["width"], c.spec["height"] = width, height
	}
	return c
}

// specJSON returns the chart spec as JSON that is safe inside a <script> element:
// encoding/json escapes <, > and & as \u003c…, and U+2028/U+2029 as \u2028/\u2029, so no
// data string can close the script or break the JavaScript parser.
func (c *Chart) specJSON() ([]byte, error) {
	if c.title != "" {
		c.spec["title"] = c.title
		if opt, ok := c.spec["option"].(map[string]any); ok {
			opt["title"] = map[string]any{"text": c.title}
		}
	}
	if c.name != "" {
		c.spec["name"] = c.name
	}
	b, err := json.Marshal(c.spec)
	if err != nil {
		return nil, fmt.Errorf("viz.%s: encode chart: %w", c.name, err)
	}
	return b, nil
}

// placeholder is what a chart output shows until the runtime draws it: visible when
// scripts do not run (untrusted notebook) or Init's output is missing.
const placeholder = `<div style="color:#888;font:13px sans-serif;padding:8px">` +
	`Chart not drawn yet: run <code>viz.Init()</code> (the notebook's first cell) and this cell, ` +
	`or trust the notebook (File ▸ Trust Notebook).</div>`

// HTML returns the chart's output fragment: a <div> and a small script that draws it with
// the runtime loaded by Init (or queues itself until Init's output runs). It does not
// include the ECharts library; see Save and Page for standalone files.
func (c *Chart) HTML() string {
	if c.err != nil {
		return errorHTML(c.err)
	}
	if c.spec == nil {
		return c.html
	}
	spec, err := c.specJSON()
	if err != nil {
		return errorHTML(err)
	}
	id := display.NewID()
	var b strings.Builder
	fmt.Fprintf(&b, `<div id="%s" class="divellm-viz" style="width:100%%;max-width:1100px;height:420px">%s</div>`, id, placeholder)
	b.WriteString("\n<script>(function(){var s=")
	b.Write(spec)
	// Find the div (by id, or as the script's previous sibling), wait until it is attached
	// to the page and laid out (JupyterLab runs output scripts before attaching them; a
	// collapsed output has no width), then draw it, or queue the drawing for when Init's
	// runtime loads. Retries every 100 ms for 10 s, then every second for about an hour.
	fmt.Fprintf(&b, `,me=document.currentScript,n=0;`+
		`function el(){var e=document.getElementById(%q);if(!e&&me&&me.parentNode&&me.parentNode.tagName!=="HEAD")e=me.previousElementSibling;return e}`+
		`function go(){var e=el();if(!e||!e.isConnected||!e.clientWidth){if(n++<4000)setTimeout(go,n<100?100:1000);return}window.divellmViz.render(e,s)}`+
		`if(window.divellmViz&&window.echarts)go();else(window.__divellmQ=window.__divellmQ||[]).push(go)})();</script>`, id)
	return b.String()
}

func errorHTML(err error) string {
	return `<pre class="divellm-viz-error" style="color:#b00;white-space:pre-wrap">` + html.EscapeString(err.Error()) + `</pre>`
}

var scriptCloseRE = regexp.MustCompile(`(?i)</(script)`)

// scriptSafe makes JavaScript source safe to inline in a <script> element: "</script" and
// "<!--" cannot appear raw (the embedded bundle has neither; this guards future versions).
// "<\/" is the same string in JS string and regex literals.
func scriptSafe(js string) string {
	js = scriptCloseRE.ReplaceAllString(js, `<\/$1`)
	return strings.ReplaceAll(js, "<!--", `<\!--`)
}

// LibraryHTML returns the HTML that loads ECharts and the viz runtime into a page: the
// bundle runs with define, exports and module shadowed so that AMD loaders (RequireJS in
// the classic notebook) cannot capture it and it sets window.echarts.
func LibraryHTML() string {
	return "<script>/* Apache ECharts " + EChartsVersion + " (Apache-2.0), embedded by divellm/viz */\n" +
		"(function(define,exports,module){\n" + scriptSafe(echartsJS) + "\n}).call(window);</script>\n" +
		"<script>" + scriptSafe(runtimeJS) + "</script>\n"
}

// Init loads ECharts and the viz runtime into the notebook page. Call it once, in the
// notebook's first cell; its output (~1 MB) is saved with the notebook so charts also draw
// when the notebook is reopened. Outside a notebook it does nothing (Show saves
// standalone files instead).
func Init() error {
	if !display.IsNotebook() {
		return nil
	}
	return display.HTML(LibraryHTML() + fmt.Sprintf(`<div style="color:#888;font:12px sans-serif">viz: ECharts %s loaded (offline, %d KB, once per notebook)</div>`, EChartsVersion, len(echartsJS)/1024))
}

// Show displays the chart in the notebook cell. Outside a notebook it saves a standalone
// page under $DIVELLM_OUT (or the temp dir) and prints its path. If the chart could not be
// built, Show displays the error and returns it.
func (c *Chart) Show() error {
	if display.IsNotebook() {
		if err := display.HTML(c.HTML()); err != nil {
			return err
		}
		return c.err
	}
	if c.err != nil {
		return c.err
	}
	f, err := display.CreateFile("divellm-" + c.name + "-*.html")
	if err != nil {
		return err
	}
	path := f.Name()
	f.Close()
	if err := c.Save(path); err != nil {
		return err
	}
	_, err = fmt.Fprintf(display.Stdout, "chart written to %s\n", path)
	return err
}

// Page returns a standalone HTML page holding the charts, with ECharts inlined once.
func Page(title string, charts ...*Chart) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>")
	b.WriteString(html.EscapeString(title))
	b.WriteString("</title></head>\n<body style=\"font-family:sans-serif\">\n")
	b.WriteString(LibraryHTML())
	for _, c := range charts {
		b.WriteString(c.HTML())
		b.WriteString("\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// Save writes the chart as a standalone HTML file (ECharts inlined, no network needed).
func (c *Chart) Save(path string) error {
	if c.err != nil {
		return c.err
	}
	return SavePage(path, c.name, c)
}

// SavePage writes several charts into one standalone HTML file with ECharts inlined once.
func SavePage(path, title string, charts ...*Chart) error {
	for _, c := range charts {
		if c.err != nil {
			return c.err
		}
	}
	if err := os.WriteFile(path, []byte(Page(title, charts...)), 0o644); err != nil {
		return fmt.Errorf("viz: save %s: %w", path, err)
	}
	return nil
}
