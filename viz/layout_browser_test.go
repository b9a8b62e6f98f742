package viz

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons/exercise"
)

// OutputWidth is the width of a notebook cell's output area the layout test assumes: what
// the classic Notebook gives a cell's output in a 1400 px wide window.
const OutputWidth = 1098

// layoutJS measures, once the charts are drawn, every chart against its output area and
// every text ECharts drew against its chart: a text's box must lie inside the chart's
// canvas (nothing cut off), the x-axis labels of bar and line charts must not overlap, and
// the chart must not be wider than the output area. It also reports, for every chart, the
// texts it drew (to find how a token label was laid out) and whether glyphs render or show
// as the missing-glyph box. It runs when the page is done (whenDoneJS: every chart drawn,
// the thumbnail clicked and the enlarged view drawn, animations finished).
const layoutJS = whenDoneJS + `<script>window.__divellmWhenDone(function(){
var V=window.divellmViz||{},out={charts:[],glyphs:{}};
function box(el){var r=el.getBoundingRect().clone(),m=el.getComputedTransform&&el.getComputedTransform();if(m)r.applyTransform(m);return r}
document.querySelectorAll(".divellm-viz,.divellm-viz-zoom").forEach(function(div){
 var c=window.echarts&&window.echarts.getInstanceByDom(div),area=div.parentNode.getBoundingClientRect();
 var rep={name:div.getAttribute("data-name")||div.className,width:div.getBoundingClientRect().width,scrollWidth:div.scrollWidth,area:area.width,outside:[],overlaps:[],texts:[]};
 if(c){var W=c.getWidth(),H=c.getHeight(),xl=[];
  c.getZr().storage.getDisplayList(true).forEach(function(el){
   if(el.type!=="tspan"&&el.type!=="text")return;
   var t=el.style&&el.style.text;if(!t||el.invisible||el.ignore||(el.__clipPaths&&el.__clipPaths.length))return;
   var r=box(el);rep.texts.push(String(t));
   if(r.width<=0||r.height<=0)return;
   if(r.x< -1||r.y< -1||r.x+r.width>W+1||r.y+r.height>H+1)rep.outside.push(t+" @ "+Math.round(r.x)+","+Math.round(r.y)+" "+Math.round(r.width)+"×"+Math.round(r.height)+" in "+W+"×"+H);
  });
  var opt=c.getOption(),bars=(opt.series||[]).some(function(s){return s.type==="bar"||s.type==="line"});
  if(bars){var labels=[];c.getZr().storage.getDisplayList(true).forEach(function(el){
    if(el.type!=="tspan"&&el.type!=="text")return;var r=box(el);
    if(r.y>H*0.6&&el.style&&el.style.text)labels.push({t:el.style.text,r:r})});
   for(var i=0;i<labels.length;i++)for(var j=i+1;j<labels.length;j++){var a=labels[i].r,b=labels[j].r;
    if(a.x<b.x+b.width-1&&b.x<a.x+a.width-1&&a.y<b.y+b.height-1&&b.y<a.y+a.height-1)rep.overlaps.push(labels[i].t+" / "+labels[j].t)}}
 }
 out.charts.push(rep)});
var cv=document.createElement("canvas");cv.width=40;cv.height=40;var g=cv.getContext("2d");
function ink(ch,font){g.clearRect(0,0,40,40);g.fillStyle="#000";g.font=font;g.textBaseline="top";g.fillText(ch,4,4);return Array.from(g.getImageData(0,0,40,40).data).join(",")}
(window.__glyphs||[]).forEach(function(ch){out.glyphs[ch]={};(window.__fonts||[]).forEach(function(f){out.glyphs[ch][f]=ink(ch,"24px "+f)===ink("\uE000","24px "+f)?"missing":"ok"})});
var p=document.createElement("pre");p.id="divellm-layout";p.textContent=JSON.stringify(out);document.body.appendChild(p);
});</script>`

type layoutReport struct {
	Charts []struct {
		Name        string   `json:"name"`
		Width       float64  `json:"width"`
		ScrollWidth float64  `json:"scrollWidth"`
		Area        float64  `json:"area"`
		Outside     []string `json:"outside"`
		Overlaps    []string `json:"overlaps"`
		Texts       []string `json:"texts"`
	} `json:"charts"`
	Glyphs map[string]map[string]string `json:"glyphs"`
}

// bertTokens is a BERT input as the lesson shows it: [CLS], Chinese characters, [SEP].
func bertTokens(n int) []string {
	return append(append([]string{"[CLS]"}, chineseTokens(n)...), "[SEP]")
}

// TestBrowserLayout draws the views the week-1 notebook draws, at the sizes it draws them,
// inside an output area as wide as the classic Notebook's, and checks what a reader would
// see: no chart wider than its output area, no text cut at a chart's edge (the attention
// diff's third panel title was), no overlapping bar labels (the pipeline chart's seven stage
// names did), a [CLS] label on one line in the enlarged BERT head view (it was stacked one
// character per line), and the exercise marks drawn with a real glyph (✅ and ❌ were empty
// boxes without an emoji font).
func TestBrowserLayout(t *testing.T) {
	needChromium(t)
	t.Parallel()
	holdBrowser(t)
	dir := artifactsDir(t)
	r := rand.New(rand.NewPCG(5, 6))
	story := []string{"我", "昨", "天", "去", "银", "行", "钓", "鱼"}
	q, k := make([]float64, 32), make([][]float64, len(story))
	for i := range q {
		q[i] = r.NormFloat64()
	}
	for j := range k {
		k[j] = make([]float64, 32)
		for i := range k[j] {
			k[j][i] = r.NormFloat64()
		}
	}
	sc, _ := NeuronScores(q, k)
	causal := append(softmaxOf(sc[:7]), 0) // query 钓 (6) sees keys 0..6
	model := make([][][][]float64, 4)
	for l := range model {
		model[l] = softmaxRows(4, 28, uint64(l))
	}
	a := softmaxRows(2, len(story), 9)
	stages := []string{"1 加载权重 (load)", "2 分词 (tokenize)", "3 第一次前向：编译计算图 (first forward: compile)", "4 前向 (forward, compiled)",
		"5 取下一个 token (next token)", "6 生成 30 个 token (KV cache, 贪心)", "7 解码 (decode)"}
	charts := []*Chart{
		AttentionModel(bertTokens(26), model), // first: its thumbnail is clicked
		Bars(stages, Series{Name: "毫秒 (ms)", Values: []float64{5, 0.3, 180, 9, 0.1, 60, 0.1}}).Title("推理流程每一步的耗时 (inference pipeline, ms)"),
		AttentionDiff(story, a[0], a[1], "没有掩码 (encoder)", "因果掩码 (decoder)"),
		Neuron(story, 6, q, k, causal),
		Attention(chineseTokens(60), softmaxRows(4, 60, 3)),
		Attention(bertTokens(40), softmaxRows(4, 42, 4)),
	}
	var frags []string
	for i, c := range charts {
		if err := c.Err(); err != nil {
			t.Fatalf("chart %d: %v", i, err)
		}
		frags = append(frags, c.HTML())
	}
	fragsJSON, _ := json.Marshal(frags)
	glyphs := []string{exercise.PassMark, exercise.FailMark, "✅"}
	glyphsJSON, _ := json.Marshal(glyphs)
	fonts := []string{"monospace", "'Noto Sans CJK SC', sans-serif"}
	fontsJSON, _ := json.Marshal(fonts)
	page := `<!DOCTYPE html><html><head><meta charset="utf-8"><title>layout</title>` + captureJS + `</head>` +
		`<body style="margin:0"><div id="nb" style="width:` + strconv.Itoa(OutputWidth) + `px"></div>` + LibraryHTML() +
		`<script>window.__glyphs=` + string(glyphsJSON) + `;window.__fonts=` + string(fontsJSON) + `;var frags=` + string(fragsJSON) + `;
frags.forEach(function(h){var host=document.createElement("div");host.className="jp-OutputArea-output";host.innerHTML=h;
host.querySelectorAll("script").forEach(function(s){var c=document.createElement("script");c.textContent=s.textContent;s.parentNode.replaceChild(c,s)});
document.getElementById("nb").appendChild(host)});
</script>` + clickThumbnailJS + layoutJS + `</body></html>`
	path := filepath.Join(dir, "layout.html")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout(t))
	defer cancel()
	p, err := renderPage(ctx, t, "file://"+path, 1400, 3000, "divellm-layout")
	if err != nil {
		t.Fatalf("chromium on %s: %v", path, err)
	}
	_ = os.WriteFile(path+".dom.html", []byte(p.DOM), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "layout.png"), p.PNG, 0o644)
	var rep layoutReport
	if err := json.Unmarshal([]byte(p.Result), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Charts) != len(charts)+1 { // + the enlarged head view
		t.Fatalf("%d charts measured, want %d (did the thumbnail click enlarge one?)", len(rep.Charts), len(charts)+1)
	}
	enlarged := false
	for n, c := range rep.Charts {
		if c.Width > float64(OutputWidth)+0.5 || c.ScrollWidth > float64(OutputWidth)+0.5 {
			t.Errorf("chart %d (%s) is %.0f px wide (scroll %.0f) in a %d px output area", n, c.Name, c.Width, c.ScrollWidth, OutputWidth)
		}
		for _, o := range c.Outside {
			t.Errorf("chart %d (%s): text outside the chart: %s", n, c.Name, o)
		}
		for _, o := range c.Overlaps {
			t.Errorf("chart %d (%s): overlapping labels: %s", n, c.Name, o)
		}
		if strings.Contains(c.Name, "zoom") {
			enlarged = true
			// A stacked [CLS] is drawn as the lines "[", "C", "L", "S", "]": single Latin
			// letters, which no label of this view has otherwise.
			for _, s := range c.Texts {
				if len(s) == 1 && (s[0] >= 'A' && s[0] <= 'Z' || s[0] == '[' || s[0] == ']') {
					t.Errorf("enlarged BERT head view: a label line is the single character %q: [CLS]/[SEP] stacked one character per line", s)
					break
				}
			}
		}
	}
	if !enlarged {
		t.Error("the enlarged head view was not measured")
	}
	for _, g := range glyphs[:2] {
		for _, f := range fonts {
			if rep.Glyphs[g][f] != "ok" {
				t.Errorf("%s in %s: %s (the notebook's check marks must have a glyph)", g, f, rep.Glyphs[g][f])
			}
		}
	}
	// The control: without an emoji font ✅ is the missing-glyph box, which shows the test
	// can tell a box from a glyph. (With an emoji font installed it renders; nothing to check.)
	t.Logf("control ✅: %v", rep.Glyphs["✅"])
}
