package viz

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/divellm/divellm/internal/testlock"
)

// The real-browser tests load chart pages in headless Chromium (driven over the DevTools
// protocol, cdp_test.go), read the status the runtime records (every chart marked
// data-rendered="1", no JS errors) once the page says it is done, and take a screenshot
// that must not be blank. Screenshots and pages are kept under
// $DIVELLM_ARTIFACTS (default: the test's temp dir) so CI can keep them on failure.

const chromium = "/usr/bin/chromium"

// captureJS records JS errors before anything else runs.
const captureJS = `<script>window.__jsErrors=[];` +
	`(function(){var ce=console.error;console.error=function(){window.__jsErrors.push("console.error: "+Array.prototype.join.call(arguments," "));return ce.apply(console,arguments)}})();` +
	`window.onerror=function(m,s,l,c){window.__jsErrors.push(String(m)+" at "+l+":"+c)};` +
	`window.addEventListener("unhandledrejection",function(e){window.__jsErrors.push("unhandled rejection: "+e.reason)});</script>`

// whenDoneJS defines window.__divellmWhenDone(f): f runs once the page is done, that is
// when every chart element has a data-rendered status, the page's own condition
// window.__waitFor (if any) holds and every ECharts instance has finished its entry
// animation, and two frames later (so that the last frame is painted). Waiting is for
// these events, not for a time: only if they never come (a broken chart) does f run after
// two minutes anyway, so that a test fails with "not drawn" instead of hanging.
const whenDoneJS = `<script>window.__divellmWhenDone=function(f){var t0=Date.now();
function ready(){var els=document.querySelectorAll(".divellm-viz"),V=window.divellmViz||{};if(!els.length)return false;
for(var i=0;i<els.length;i++)if(!els[i].getAttribute("data-rendered"))return false;
if(window.__waitFor&&!window.__waitFor())return false;
return (V.charts||[]).every(function(c){return c.isDisposed()||c.getZr().animation.isFinished()})}
function poll(){if(ready()||Date.now()-t0>120000)requestAnimationFrame(function(){requestAnimationFrame(f)});else setTimeout(poll,50)}
if(document.readyState==="complete")poll();else window.addEventListener("load",poll)};</script>`

// clickThumbnailJS clicks the first thumbnail of the first chart (a model view) once the
// page's outputs are all in (window.__outputsIn, if the page defines it) and that chart has
// drawn, and makes the page wait until the enlarged head view has drawn.
const clickThumbnailJS = `<script>(function(){var clicked=false;
(function click(){var el=document.querySelector(".divellm-viz"),c=el&&window.echarts&&window.echarts.getInstanceByDom(el);
if((window.__outputsIn&&!window.__outputsIn())||!c||el.getAttribute("data-rendered")!=="1"||!c.getZr().animation.isFinished()){setTimeout(click,50);return}
var cv=el.querySelector("canvas"),r=cv.getBoundingClientRect();
["mousemove","mousedown","mouseup","click"].forEach(function(t){cv.dispatchEvent(new MouseEvent(t,{clientX:r.left+100,clientY:r.top+90,bubbles:true}))});clicked=true})();
window.__waitFor=function(){return clicked&&!!document.querySelector(".divellm-viz-zoom[data-rendered]")}})();</script>`

// resultJS writes the page's status into the DOM (#divellm-result) once it is done.
const resultJS = whenDoneJS + `<script>window.__divellmWhenDone(function(){
var els=document.querySelectorAll(".divellm-viz"),st=[],V=window.divellmViz||{},tb=0;
for(var i=0;i<els.length;i++)st.push(els[i].getAttribute("data-rendered")||"not drawn");
(V.charts||[]).forEach(function(c){var t=c.getOption().toolbox;if(t&&t[0]&&t[0].feature&&t[0].feature.saveAsImage)tb++});
var r={charts:st,jsErrors:window.__jsErrors,vizErrors:V.errors||[],instances:(V.charts||[]).length,saveAsImage:tb,
echarts:window.echarts?window.echarts.version:"missing",zoomed:document.querySelectorAll(".divellm-viz-zoom[data-rendered='1']").length,xss:document.title==="XSS",defineCalls:window.__defineCalls||0,
decoded:window.__packTest&&V.decode?Array.from(V.decode(window.__packTest)):null};
var p=document.createElement("pre");p.id="divellm-result";p.textContent=JSON.stringify(r);document.body.appendChild(p)});</script>`

type pageResult struct {
	Charts      []string  `json:"charts"`
	JSErrors    []string  `json:"jsErrors"`
	VizErrors   []string  `json:"vizErrors"`
	Instances   int       `json:"instances"`
	SaveAsImage int       `json:"saveAsImage"`
	ECharts     string    `json:"echarts"`
	XSS         bool      `json:"xss"`
	DefineCalls int       `json:"defineCalls"`
	Decoded     []float64 `json:"decoded"`
	Zoomed      int       `json:"zoomed"`
}

func artifactsDir(t *testing.T) string {
	dir := os.Getenv("DIVELLM_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "viz")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserTimeout bounds one Chromium run: it is only a guard against a hung browser, so
// it is sized for a slow shared machine, and ends before the test binary's -timeout so a
// hang fails with Chromium's stderr rather than a goroutine dump.
func browserTimeout(t *testing.T) time.Duration {
	const guard = 15 * time.Minute
	if d, ok := t.Deadline(); ok {
		return min(guard, max(time.Minute, time.Until(d)-30*time.Second))
	}
	return guard
}

// loadPage renders the page at path in a width×height viewport, keeps its DOM (as
// path.dom.html) and screenshot (as shot), and returns the status written by resultJS
// and the decoded screenshot.
func loadPage(t *testing.T, path, shot string, width, height int) (pageResult, image.Image) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout(t))
	defer cancel()
	p, err := renderPage(ctx, t, "file://"+path, width, height, "divellm-result")
	if err != nil {
		t.Fatalf("chromium on %s: %v", path, err)
	}
	if err := os.WriteFile(path+".dom.html", []byte(p.DOM), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shot, p.PNG, 0o644); err != nil {
		t.Fatal(err)
	}
	var r pageResult
	if err := json.Unmarshal([]byte(p.Result), &r); err != nil {
		t.Fatalf("result of %s: %v\n%s", path, err, p.Result)
	}
	img, err := png.Decode(bytes.NewReader(p.PNG))
	if err != nil {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	return r, img
}

// inkFraction is the fraction of pixels in r that are not (near) white.
func inkFraction(img image.Image, r image.Rectangle) float64 {
	r = r.Intersect(img.Bounds())
	ink, total := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cr < 0xf000 || cg < 0xf000 || cb < 0xf000 {
				ink++
			}
			total++
		}
	}
	if total == 0 {
		return 0
	}
	return float64(ink) / float64(total)
}

func checkResult(t *testing.T, name string, r pageResult, wantCharts int) {
	t.Helper()
	if len(r.JSErrors) > 0 || len(r.VizErrors) > 0 {
		t.Errorf("%s: JS errors %q, viz errors %q", name, r.JSErrors, r.VizErrors)
	}
	if len(r.Charts) != wantCharts {
		t.Errorf("%s: %d chart elements, want %d", name, len(r.Charts), wantCharts)
	}
	for i, s := range r.Charts {
		if s != "1" {
			t.Errorf("%s: chart %d status %q, want drawn", name, i, s)
		}
	}
	if r.ECharts != EChartsVersion {
		t.Errorf("%s: window.echarts version %q, want %s", name, r.ECharts, EChartsVersion)
	}
	if r.SaveAsImage != r.Instances || r.Instances < wantCharts {
		t.Errorf("%s: %d of %d ECharts instances have saveAsImage (want all, ≥ %d)", name, r.SaveAsImage, r.Instances, wantCharts)
	}
	if r.XSS {
		t.Errorf("%s: a token's markup ran as HTML", name)
	}
}

func needChromium(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("skipping the real-browser test: %s not found (CI installs it: apt-get install -y chromium fonts-noto-cjk)", chromium)
	}
	if testing.Short() {
		t.Skip("skipping the real-browser test in -short mode")
	}
}

// holdBrowser makes the real-browser tests run one at a time, across test binaries
// (`go test ./...` runs packages in parallel) and checkouts: two Chromiums painting
// 7200-pixel pages on a 2-core machine starve each other and everything else.
func holdBrowser(t *testing.T) { testlock.Hold(t, "chromium") }

func ecChartCount(charts []*Chart) int {
	n := 0
	for _, c := range charts {
		if c.spec != nil {
			n++
		}
	}
	return n
}

// TestBrowserStandalonePage: a Save'd page with every view draws without errors.
func TestBrowserStandalonePage(t *testing.T) {
	needChromium(t)
	t.Parallel()
	holdBrowser(t)
	dir := artifactsDir(t)
	charts := allViews()
	page := Page("divellm viz: all views", charts...)
	page = strings.Replace(page, "<head>", "<head>"+captureJS, 1)
	end := strings.LastIndex(page, "</body>") // the bundle itself contains "</body>" in a string
	page = page[:end] + resultJS + page[end:]
	path := filepath.Join(dir, "standalone.html")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	r, img := loadPage(t, path, filepath.Join(dir, "standalone.png"), 1400, 7200)
	checkResult(t, "standalone", r, ecChartCount(charts))
	if f := inkFraction(img, img.Bounds()); f < 0.03 {
		t.Errorf("standalone screenshot is %.1f%% ink: blank?", 100*f)
	}
	// The first chart is the 60-token attention head view: its heatmap must be drawn.
	if f := inkFraction(img, image.Rect(100, 150, 800, 850)); f < 0.15 {
		t.Errorf("attention heatmap area is %.1f%% ink, want a filled heatmap", 100*f)
	}
}

// fakeRequireJS mimics the classic notebook: a global AMD define that, like RequireJS,
// throws for an anonymous define() outside its loader.
const fakeRequireJS = `<script>window.__defineCalls=0;window.define=function(){window.__defineCalls++;` +
	`throw new Error("Mismatched anonymous define() module")};window.define.amd={jQuery:true};</script>`

// TestBrowserNotebookOutputs mimics a notebook: each output is inserted as a separate HTML
// fragment the way JupyterLab does (innerHTML, then scripts re-created so they run), a chart
// output arrives before Init's output (it must queue), then Init, then the other charts.
func TestBrowserNotebookOutputs(t *testing.T) {
	needChromium(t)
	t.Parallel()
	holdBrowser(t)
	dir := artifactsDir(t)
	charts := allViews()
	frags := []string{charts[1].HTML(), LibraryHTML()}
	for i, c := range charts {
		if i != 1 {
			frags = append(frags, c.HTML())
		}
	}
	fragsJSON, err := json.Marshal(frags)
	if err != nil {
		t.Fatal(err)
	}
	vals := []float64{0, 0.001, 0.3, 1, 0.75}
	p, _ := pack(vals, false, 4) // 6 bits
	packJSON, _ := json.Marshal(p)
	page := `<!DOCTYPE html><html><head><meta charset="utf-8"><title>notebook</title>` + captureJS + fakeRequireJS +
		`</head><body><div id="notebook"></div><script>window.__packTest=` + string(packJSON) + `;
var frags=` + string(fragsJSON) + `,i=0;
function addOutput(h){var host=document.createElement("div");host.className="jp-OutputArea-output";host.innerHTML=h;
host.querySelectorAll("script").forEach(function(s){var c=document.createElement("script");c.textContent=s.textContent;s.parentNode.replaceChild(c,s)});
document.getElementById("notebook").appendChild(host)}
function next(){if(i<frags.length){addOutput(frags[i++]);setTimeout(next,30)}}
next();
// Once every output is in, click the model view's first thumbnail to enlarge it.
window.__outputsIn=function(){return i>=frags.length};
</script>` + clickThumbnailJS + resultJS + `</body></html>`
	path := filepath.Join(dir, "notebook.html")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	r, img := loadPage(t, path, filepath.Join(dir, "notebook.png"), 1400, 7200)
	checkResult(t, "notebook", r, ecChartCount(charts))
	if r.DefineCalls != 0 {
		t.Errorf("the ECharts bundle called the page's AMD define %d times", r.DefineCalls)
	}
	if r.Zoomed != 1 {
		t.Errorf("clicking a model-view thumbnail drew %d enlarged head views, want 1", r.Zoomed)
	}
	want, _ := unpack(p)
	if len(r.Decoded) != len(want) {
		t.Fatalf("runtime decoded %v, want %v", r.Decoded, want)
	}
	for i := range want {
		if d := r.Decoded[i] - want[i]; d > 1e-12 || d < -1e-12 {
			t.Errorf("runtime decode[%d] = %v, Go unpack = %v", i, r.Decoded[i], want[i])
		}
	}
	if f := inkFraction(img, img.Bounds()); f < 0.03 {
		t.Errorf("notebook screenshot is %.1f%% ink: blank?", 100*f)
	}
}
