package viz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/divellm/divellm/kernel/display"
	"github.com/divellm/divellm/llm/sample"
)

var specRE = regexp.MustCompile(`(?s)<script>\(function\(\)\{var s=(.*?),me=document\.currentScript`)

// specOf extracts and decodes the JSON spec embedded in a chart's HTML output, the way
// the browser sees it.
func specOf(t *testing.T, c *Chart) map[string]any {
	t.Helper()
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	m := specRE.FindStringSubmatch(c.HTML())
	if m == nil {
		t.Fatalf("no spec in HTML:\n%.500s", c.HTML())
	}
	var spec map[string]any
	if err := json.Unmarshal([]byte(m[1]), &spec); err != nil {
		t.Fatalf("spec is not JSON: %v\n%.500s", err, m[1])
	}
	return spec
}

func packedOf(t *testing.T, v any) Packed {
	t.Helper()
	b, _ := json.Marshal(v)
	var p Packed
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func floats(v any) []float64 {
	var out []float64
	for _, x := range v.([]any) {
		out = append(out, x.(float64))
	}
	return out
}

// sqrtErr is the largest allowed error of a packed value in the √ domain: half a level.
func checkPacked(t *testing.T, what string, got, want []float64, p Packed) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	levels := float64(int(1)<<p.Bits - 1)
	if p.Signed {
		levels = float64((int(1)<<p.Bits - 1) >> 1)
	}
	tol := 0.5/levels + 1e-12
	for i := range want {
		g, w := math.Sqrt(math.Abs(got[i])/p.Max), math.Sqrt(math.Abs(want[i])/p.Max)
		if math.Abs(g-w) > tol || (want[i] > 0 && got[i] < 0) || (want[i] < 0 && got[i] > 0) {
			t.Fatalf("%s[%d] = %v, want %v (±half a level on the √ scale, %d bits)", what, i, got[i], want[i], p.Bits)
		}
	}
}

func TestPackRoundTrip(t *testing.T) {
	vals := []float64{0, 1e-4, 0.01, 0.25, 0.5, 0.9999, 1}
	for _, budget := range []int{1000, 10} { // 12 bits, then 6 bits
		p, err := pack(vals, false, budget)
		if err != nil {
			t.Fatal(err)
		}
		wantBits := map[int]int{1000: 12, 10: 6}[budget]
		if p.Bits != wantBits || len(p.Data) != len(vals)*wantBits/6 {
			t.Fatalf("budget %d: %d bits, %d chars", budget, p.Bits, len(p.Data))
		}
		got, err := unpack(p)
		if err != nil {
			t.Fatal(err)
		}
		checkPacked(t, "unsigned", got, vals, p)
		if got[0] != 0 || got[len(got)-1] != 1 {
			t.Errorf("ends not exact: %v", got)
		}
	}
	signed := []float64{-2, -0.5, 0, 1e-3, 0.7, 2}
	for _, budget := range []int{1000, 1} {
		p, err := pack(signed, true, budget)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := unpack(p)
		checkPacked(t, "signed", got, signed, p)
		if got[2] != 0 {
			t.Errorf("signed zero decoded as %v", got[2])
		}
	}
	if _, err := pack([]float64{-1}, false, 10); err == nil {
		t.Error("negative value packed unsigned without error")
	}
	if _, err := pack([]float64{math.NaN()}, true, 10); err == nil {
		t.Error("NaN packed without error")
	}
}

func TestAttentionSpecHasTheData(t *testing.T) {
	tokens := chineseTokens(9)
	w := softmaxRows(3, 9, 5)
	spec := specOf(t, Attention(tokens, w))
	if spec["kind"] != "attention" || !reflect.DeepEqual(strs(spec["tokens"]), tokens) {
		t.Fatalf("kind %v tokens %v, want attention %v", spec["kind"], spec["tokens"], tokens)
	}
	if got := strs(spec["heads"]); !reflect.DeepEqual(got, []string{"head 0", "head 1", "head 2"}) {
		t.Errorf("heads = %v", got)
	}
	p := packedOf(t, spec["w"])
	got, err := unpack(p)
	if err != nil {
		t.Fatal(err)
	}
	var want []float64
	for _, m := range w {
		want = flatten(want, m)
	}
	if p.Bits != 12 {
		t.Errorf("small attention packed with %d bits, want 12", p.Bits)
	}
	checkPacked(t, "weights", got, want, p) // [head][q][k] order, shape 3×9×9

	lines := specOf(t, AttentionLines(tokens, w))
	if lines["kind"] != "lines" || !reflect.DeepEqual(lines["w"], spec["w"]) || !reflect.DeepEqual(lines["tokens"], spec["tokens"]) {
		t.Errorf("AttentionLines spec differs from Attention's data: kind %v", lines["kind"])
	}
}

func TestAttentionModelAndDiffAndNeuronSpecs(t *testing.T) {
	tokens := []string{"a", "b", "c", "d"}
	model := [][][][]float64{softmaxRows(2, 4, 1), softmaxRows(2, 4, 2), softmaxRows(2, 4, 3)}
	spec := specOf(t, AttentionModel(tokens, model))
	if got := strs(spec["layers"]); len(got) != 3 || len(strs(spec["heads"])) != 2 {
		t.Fatalf("layers %v heads %v", got, spec["heads"])
	}
	var want []float64
	for _, l := range model {
		for _, m := range l {
			want = flatten(want, m)
		}
	}
	p := packedOf(t, spec["w"])
	got, _ := unpack(p)
	checkPacked(t, "model", got, want, p)

	a, b := softmaxRows(1, 4, 8)[0], softmaxRows(1, 4, 9)[0]
	spec = specOf(t, AttentionDiff(tokens, a, b, "base", "tuned"))
	if spec["labelA"] != "base" || spec["labelB"] != "tuned" {
		t.Errorf("labels %v %v", spec["labelA"], spec["labelB"])
	}
	pd := packedOf(t, spec["d"])
	d, _ := unpack(pd)
	var wantD []float64
	for q := range a {
		for k := range a[q] {
			wantD = append(wantD, a[q][k]-b[q][k])
		}
	}
	checkPacked(t, "a−b", d, wantD, pd)

	q := []float64{1, 0}
	k := [][]float64{{1, 0}, {0, 1}, {-1, 0}, {2, 2}}
	sc, err := NeuronScores(q, k)
	if err != nil {
		t.Fatal(err)
	}
	spec = specOf(t, Neuron(tokens, 2, q, k, softmaxOf(sc)))
	if spec["query"].(float64) != 2 || spec["dim"].(float64) != 2 {
		t.Errorf("query %v dim %v", spec["query"], spec["dim"])
	}
	pk := packedOf(t, spec["k"])
	gotK, _ := unpack(pk)
	checkPacked(t, "k", gotK, []float64{1, 0, 0, 1, -1, 0, 2, 2}, pk)
	scores := floats(spec["scores"])
	s := 1 / math.Sqrt2
	for i, w := range []float64{s, 0, -s, 2 * s} {
		if math.Abs(scores[i]-w) > 1e-5 {
			t.Errorf("score %d = %v, want %v", i, scores[i], w)
		}
	}
}

func TestNeuronScoresByHand(t *testing.T) {
	scores, err := NeuronScores([]float64{2, 0}, [][]float64{{1, 0}, {0, 1}, {-1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	r := math.Sqrt2 // q·k/√2 = √2, 0, −√2
	for i, want := range []float64{r, 0, -r} {
		if math.Abs(scores[i]-want) > 1e-12 {
			t.Errorf("key %d: score %v, want %v", i, scores[i], want)
		}
	}
	if _, err := NeuronScores([]float64{1}, [][]float64{{1, 2}}); err == nil {
		t.Error("dimension mismatch accepted")
	}
}

// softmaxOf is llm/sample's softmax (the view never computes one itself).
func softmaxOf(s []float64) []float64 { return sample.Probs(s) }

// The neuron view draws the probabilities it is given, with the mask they came from: a
// causal row's future keys are masked (no score bar), and a row that is not the softmax of
// this query's scores over the visible keys is refused, so the view cannot contradict the
// model.
func TestNeuronUsesTheModelsMask(t *testing.T) {
	tokens := []string{"钓", "鱼", "银", "行"}
	q := []float64{1, -0.5}
	k := [][]float64{{1, 0}, {0, 1}, {0.5, 0.5}, {2, -1}}
	sc, _ := NeuronScores(q, k)
	causal := append(softmaxOf(sc[:2]), 0, 0) // query 1 sees keys 0 and 1 only
	spec := specOf(t, Neuron(tokens, 1, q, k, causal))
	scores := spec["scores"].([]any)
	masked := spec["masked"].([]any)
	for j := range tokens {
		if (j >= 2) != masked[j].(bool) || (j >= 2) != (scores[j] == nil) {
			t.Errorf("key %d: masked %v score %v", j, masked[j], scores[j])
		}
	}
	if p := floats(spec["probs"]); p[2] != 0 || math.Abs(p[0]+p[1]-1) > 1e-6 {
		t.Errorf("probs %v", p)
	}
	// Without the mask the softmax over all four keys puts weight on the future: that row
	// does not match a causal head, and a row of another query does not match this one.
	full := softmaxOf(sc)
	if full[3] == 0 {
		t.Fatal("test needs weight on the future key")
	}
	other, _ := NeuronScores([]float64{-1, 2}, k)
	for name, probs := range map[string][]float64{
		"another query's row": softmaxOf(other),
		"not a distribution":  {0.5, 0.5, 0.5, 0},
		"wrong length":        {1},
		"negative":            {1.5, -0.5, 0, 0},
	} {
		if err := Neuron(tokens, 1, q, k, probs).Err(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if err := Neuron(tokens, 1, q, k, full).Err(); err != nil {
		t.Errorf("unmasked row of the same query refused: %v", err)
	}
}

func TestEscapingIsSafe(t *testing.T) {
	nasty := []string{"<", `"`, "'", "</script>", "a\u2028b", "</SCRIPT ", "<!--", "&amp;"}
	T := len(nasty)
	w := make([][]float64, T)
	for q := range w {
		w[q] = make([]float64, T)
		w[q][q] = 1
	}
	charts := map[string]*Chart{
		"attention": Attention(nasty, [][][]float64{w}).Title("</script><b>"),
		"bars":      Bars(nasty, Series{Name: "</script>", Values: make([]float64, T)}),
		"heatmap":   Heatmap(nasty, nasty, [][]float64{make([]float64, T), make([]float64, T), make([]float64, T), make([]float64, T), make([]float64, T), make([]float64, T), make([]float64, T), make([]float64, T)}),
	}
	for name, c := range charts {
		h := c.HTML()
		if n := strings.Count(strings.ToLower(h), "</script"); n != 1 {
			t.Errorf("%s: %d '</script' in output, want only the closing tag:\n%s", name, n, h)
		}
		if strings.Contains(h, "\u2028") || strings.Contains(h, "<!--") {
			t.Errorf("%s: raw U+2028 or <!-- in output", name)
		}
		spec := specOf(t, c)
		var got []string
		switch name {
		case "attention":
			got = strs(spec["tokens"])
			if spec["title"] != "</script><b>" {
				t.Errorf("title = %q", spec["title"])
			}
		case "bars":
			got = strs(spec["option"].(map[string]any)["xAxis"].([]any)[0].(map[string]any)["data"])
		case "heatmap":
			got = strs(spec["option"].(map[string]any)["yAxis"].([]any)[0].(map[string]any)["data"])
		}
		if !reflect.DeepEqual(got, nasty) {
			t.Errorf("%s: labels parsed back as %q, want %q", name, got, nasty)
		}
	}
	chips := Tokens(TokenRow{Name: "bpe", Tokens: []string{"深度", " x"}, IDs: []int{17, 42}, Spans: [][2]int{{0, 6}, {6, 8}}}).HTML()
	for _, want := range []string{">深度<", ">␣x<", ">17 · 0–6<", ">42 · 6–8<", "bpe · 2 个 token"} {
		if !strings.Contains(chips, want) {
			t.Errorf("token chips miss %q:\n%s", want, chips)
		}
	}
	tok := Tokens(TokenRow{Name: "<x>", Tokens: nasty}).HTML()
	if strings.Contains(tok, "</script>") || strings.Contains(tok, `<x>`) || !strings.Contains(tok, "&lt;/script&gt;") {
		t.Errorf("token chips not escaped:\n%s", tok)
	}
}

func TestAttentionBudget60Tokens12Heads(t *testing.T) {
	tokens := chineseTokens(60)
	h := Attention(tokens, softmaxRows(12, 60, 1)).HTML()
	t.Logf("60 tokens × 12 heads: %.1f KB per chart output", float64(len(h))/1024)
	if len(h) > Budget {
		t.Errorf("chart output is %d bytes, budget %d", len(h), Budget)
	}
	if lib := LibraryHTML(); len(lib) > 1_100_000 {
		t.Errorf("library HTML is %d bytes, budget 1.1 MB per notebook", len(lib))
	} else {
		t.Logf("library (Init) output: %.1f KB", float64(len(lib))/1024)
	}
	w := softmaxRows(12, 60, 2)
	q, k := make([]float64, 64), make([][]float64, 60)
	for i := range q {
		q[i] = math.Sin(float64(i))
	}
	for j := range k {
		k[j] = make([]float64, 64)
		for i := range k[j] {
			k[j][i] = math.Cos(float64(i * j))
		}
	}
	model := make([][][][]float64, 12) // bert-base: 12 layers × 12 heads
	for l := range model {
		model[l] = w
	}
	big := map[string]*Chart{
		"AttentionModel 12×12×60": AttentionModel(tokens, model),
		"AttentionLines 60×12":    AttentionLines(tokens, w),
		"AttentionDiff 60":        AttentionDiff(tokens, w[0], w[1], "a", "b"),
		"Neuron 60 tokens, d=64":  Neuron(tokens, 10, q, k, neuronProbs(q, k)),
	}
	for _, c := range allViews() {
		big[c.name+" (example)"] = c
	}
	names := make([]string, 0, len(big))
	for name := range big {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := big[name]
		n := len(c.HTML())
		t.Logf("%-28s %6.1f KB", name, float64(n)/1024)
		if n > Budget {
			t.Errorf("%s output is %d bytes > %d", name, n, Budget)
		}
	}
}

func TestSaveInlinesLibraryOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.html")
	if err := Attention([]string{"x", "y"}, [][][]float64{{{1, 0}, {0.5, 0.5}}}).Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	probe := echartsJS[len(echartsJS)/2 : len(echartsJS)/2+200]
	if n := strings.Count(page, probe); n != 1 {
		t.Errorf("ECharts inlined %d times, want once", n)
	}
	if n := strings.Count(page, "(function(define,exports,module){"); n != 1 {
		t.Errorf("AMD-shadowing wrapper appears %d times", n)
	}
	if n := strings.Count(page, "window.divellmViz = window.divellmViz"); n != 1 {
		t.Errorf("runtime inlined %d times", n)
	}
	// (The bundle mentions XML namespace URLs such as http://www.w3.org/2000/svg; those are
	// names, not downloads.)
	if strings.Contains(page, "<script src") || strings.Contains(page, "cdn") || strings.Contains(page, "go-echarts.github.io") {
		t.Error("standalone page references the network")
	}
	// Three charts in one page still carry one library.
	many := Page("p", Bars([]string{"a"}, Series{"s", []float64{1}}), Bars([]string{"b"}, Series{"s", []float64{2}}), Histogram([]float64{1, 2}, 2, "h"))
	if n := strings.Count(many, probe); n != 1 {
		t.Errorf("page with 3 charts inlines ECharts %d times", n)
	}
}

func optionOf(t *testing.T, c *Chart) map[string]any {
	t.Helper()
	return specOf(t, c)["option"].(map[string]any)
}

func seriesData(s any) []any { return s.(map[string]any)["data"].([]any) }

func TestBarsData(t *testing.T) {
	opt := optionOf(t, Bars([]string{"fp32", "int8"}, Series{"ms", []float64{12.5, 7}}, Series{"MB", []float64{400, 100}}))
	if got := strs(opt["xAxis"].([]any)[0].(map[string]any)["data"]); !reflect.DeepEqual(got, []string{"fp32", "int8"}) {
		t.Errorf("labels %v", got)
	}
	series := opt["series"].([]any)
	want := map[string][]float64{"ms": {12.5, 7}, "MB": {400, 100}}
	for _, s := range series {
		m := s.(map[string]any)
		var vals []float64
		for _, d := range m["data"].([]any) {
			vals = append(vals, d.(map[string]any)["value"].(float64))
		}
		if !reflect.DeepEqual(vals, want[m["name"].(string)]) || m["type"] != "bar" {
			t.Errorf("series %v = %v", m["name"], vals)
		}
	}
	if len(series) != 2 {
		t.Errorf("%d series", len(series))
	}
	if _, ok := opt["toolbox"].(map[string]any)["feature"].(map[string]any)["saveAsImage"]; !ok {
		t.Error("no saveAsImage in toolbox")
	}
	if Bars([]string{"a"}, Series{"s", []float64{1, 2}}).Err() == nil {
		t.Error("length mismatch accepted")
	}
}

func TestHistogramCountsByHand(t *testing.T) {
	edges, counts, err := HistogramCounts([]float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(edges, []float64{0, 3, 6, 9}) || !reflect.DeepEqual(counts, []int{3, 3, 5}) {
		t.Errorf("edges %v counts %v, want [0 3 6 9] [3 3 5]", edges, counts)
	}
	_, counts, _ = HistogramCounts([]float64{2, 2}, 2)
	if !reflect.DeepEqual(counts, []int{0, 2}) {
		t.Errorf("constant values: counts %v, want [0 2] (range widened to [1.5, 2.5])", counts)
	}
	opt := optionOf(t, Histogram([]float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9}, 3, "w"))
	var got []float64
	for _, d := range seriesData(opt["series"].([]any)[0]) {
		got = append(got, d.(map[string]any)["value"].(float64))
	}
	if !reflect.DeepEqual(got, []float64{3, 3, 5}) || opt["title"].(map[string]any)["text"] != "w" {
		t.Errorf("histogram bars %v title %v", got, opt["title"])
	}
	if Histogram([]float64{math.NaN()}, 3, "").Err() == nil {
		t.Error("NaN accepted")
	}
}

func TestHeatmapAndConfusionData(t *testing.T) {
	opt := optionOf(t, Heatmap([]string{"l0", "l1"}, []string{"q", "k", "v"}, [][]float64{{1, 2, 3}, {4, 5, 6.5}}))
	cells := map[[2]int]float64{}
	for _, d := range seriesData(opt["series"].([]any)[0]) {
		v := d.(map[string]any)["value"].([]any)
		cells[[2]int{int(v[1].(float64)), int(v[0].(float64))}] = v[2].(float64)
	}
	if len(cells) != 6 || cells[[2]int{1, 2}] != 6.5 || cells[[2]int{0, 1}] != 2 {
		t.Errorf("cells %v", cells)
	}
	vm := opt["visualMap"].([]any)[0].(map[string]any)
	if vm["min"] != 1.0 || vm["max"] != 6.5 {
		t.Errorf("visualMap range %v..%v, want 1..6.5", vm["min"], vm["max"])
	}

	m := [][]int{{5, 1, 0}, {2, 3, 1}, {0, 0, 4}}
	prec, rec := PrecisionRecall(m)
	wantP, wantR := []float64{5.0 / 7, 3.0 / 4, 4.0 / 5}, []float64{5.0 / 6, 3.0 / 6, 1}
	for i := range wantP {
		if math.Abs(prec[i]-wantP[i]) > 1e-12 || math.Abs(rec[i]-wantR[i]) > 1e-12 {
			t.Errorf("class %d precision %v recall %v, want %v %v", i, prec[i], rec[i], wantP[i], wantR[i])
		}
	}
	opt = optionOf(t, ConfusionMatrix([]string{"a", "b", "c"}, m))
	series := opt["series"].([]any)
	if len(series) != 3 {
		t.Fatalf("%d series, want heatmap + precision + recall", len(series))
	}
	for _, d := range seriesData(series[0]) {
		v := d.(map[string]any)["value"].([]any)
		if got := v[2].(float64); got != float64(m[int(v[1].(float64))][int(v[0].(float64))]) {
			t.Errorf("cell %v does not match m", v)
		}
	}
	if got := floats(series[1].(map[string]any)["data"]); !reflect.DeepEqual(got, wantP) {
		t.Errorf("precision bars %v", got)
	}
}

func TestScatterAndServingData(t *testing.T) {
	opt := optionOf(t, Scatter2D([][2]float64{{1, 2}, {-3, 0.5}}, []string{"猫", "<dog>"}))
	data := seriesData(opt["series"].([]any)[0])
	if len(data) != 2 {
		t.Fatalf("%d points", len(data))
	}
	p1 := data[1].(map[string]any)
	if p1["name"] != "<dog>" || !reflect.DeepEqual(floats(p1["value"]), []float64{-3, 0.5}) {
		t.Errorf("point 1 = %v", p1)
	}
	opt = optionOf(t, LatencyPercentiles([]int{1, 4}, []float64{10, 20}, []float64{15, 30}, []float64{20, 90}))
	names := []string{}
	for _, s := range opt["series"].([]any) {
		m := s.(map[string]any)
		names = append(names, m["name"].(string))
		if m["name"] == "p99" {
			var v []float64
			for _, d := range m["data"].([]any) {
				v = append(v, d.(map[string]any)["value"].(float64))
			}
			if !reflect.DeepEqual(v, []float64{20, 90}) {
				t.Errorf("p99 = %v", v)
			}
		}
	}
	if !reflect.DeepEqual(names, []string{"p50", "p90", "p99"}) {
		t.Errorf("series %v", names)
	}
	if got := strs(opt["xAxis"].([]any)[0].(map[string]any)["data"]); !reflect.DeepEqual(got, []string{"1", "4"}) {
		t.Errorf("concurrency axis %v", got)
	}
}

func TestPCA2ByHand(t *testing.T) {
	// Variance 8/3 along x, 2/3 along y, 0 along z; the mean (1, 1, 5) is removed.
	x := [][]float64{{3, 1, 5}, {-1, 1, 5}, {1, 2, 5}, {1, 0, 5}}
	got, err := PCA2(x)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]float64{{2, 0}, {-2, 0}, {0, 1}, {0, -1}}
	for i := range want {
		if math.Abs(got[i][0]-want[i][0]) > 1e-9 || math.Abs(got[i][1]-want[i][1]) > 1e-9 {
			t.Errorf("point %d → %v, want %v", i, got[i], want[i])
		}
	}
	// Points on the line y = 2x: PC1 is (1,2)/√5, so projections are √5·t; PC2 is 0.
	got, _ = PCA2([][]float64{{0, 0}, {1, 2}, {2, 4}})
	s5 := math.Sqrt(5)
	for i, w := range []float64{-s5, 0, s5} {
		if math.Abs(got[i][0]-w) > 1e-9 || math.Abs(got[i][1]) > 1e-9 {
			t.Errorf("line point %d → %v, want (%v, 0)", i, got[i], w)
		}
	}
	if _, err := PCA2([][]float64{{1, 2}, {3}}); err == nil {
		t.Error("ragged input accepted")
	}
}

func TestLiveLossData(t *testing.T) {
	l := NewLiveLoss("loss", 0)
	for s := 0; s < 5; s++ {
		v := math.NaN()
		if s == 4 {
			v = 0.5
		}
		l.steps, l.train, l.val = append(l.steps, float64(s*10)), append(l.train, float64(5-s)), append(l.val, v)
	}
	opt := optionOf(t, l.Chart())
	series := opt["series"].([]any)
	if len(series) != 2 {
		t.Fatalf("%d series", len(series))
	}
	var train [][]float64
	for _, d := range seriesData(series[0]) {
		train = append(train, floats(d))
	}
	if !reflect.DeepEqual(train, [][]float64{{0, 5}, {10, 4}, {20, 3}, {30, 2}, {40, 1}}) {
		t.Errorf("train points %v", train)
	}
	if val := seriesData(series[1]); len(val) != 1 || !reflect.DeepEqual(floats(val[0]), []float64{40, 0.5}) {
		t.Errorf("val points %v, want only (40, 0.5)", val)
	}
	got := bucket([]float64{0, 1, 2, 3, 4}, []float64{1, 3, 5, math.NaN(), 9}, 2)
	if !reflect.DeepEqual(got, [][2]float64{{1, 3}, {4, 9}}) { // buckets {0,1,2}, {3,4}; NaN point skipped
		t.Errorf("bucket = %v", got)
	}
}

func TestLiveLossDegradedRewritesOneFile(t *testing.T) {
	t.Setenv("DIVELLM_OUT", t.TempDir())
	var out bytes.Buffer
	old := display.Stdout
	display.Stdout = &out
	defer func() { display.Stdout = old }()
	l := NewLiveLoss("loss", 3)
	l.MinInterval = -1 // draw every step
	l.Progress.PrintEvery = -1
	for s := 1; s <= 3; s++ {
		if err := l.Add(s, 3-float64(s)/2, math.NaN()); err != nil {
			t.Fatal(err)
		}
	}
	if l.drawCount != 3 || strings.Count(out.String(), "live loss chart written to") != 1 {
		t.Errorf("drew %d times, output %q", l.drawCount, out.String())
	}
	if !strings.Contains(out.String(), "loss 3/3 (100%)") {
		t.Errorf("progress lines missing: %q", out.String())
	}
}

func TestErrorsInsteadOfPanics(t *testing.T) {
	t.Setenv("DIVELLM_OUT", t.TempDir())
	bad := []*Chart{
		Attention([]string{"a", "b"}, [][][]float64{{{1, 0}}}),                 // ragged
		Attention([]string{"a"}, [][][]float64{{{1.5}}}),                       // not probabilities
		AttentionModel([]string{"a"}, [][][][]float64{{{{1}}}, {}}),            // layers differ
		Neuron([]string{"a"}, 3, []float64{1}, [][]float64{{1}}, []float64{1}), // query out of range
		AttentionDiff([]string{"a"}, [][]float64{{1}}, [][]float64{}, "", ""),  // shape
		Heatmap([]string{"r"}, []string{"c"}, [][]float64{{math.Inf(1)}}),
		ConfusionMatrix([]string{"a", "b"}, [][]int{{1, 2}}),
		Scatter2D([][2]float64{{1, 2}}, []string{"a", "b"}),
		Tokens(TokenRow{Tokens: []string{"a"}, IDs: []int{1, 2}}),
	}
	for i, c := range bad {
		if c.Err() == nil {
			t.Errorf("chart %d: no error", i)
			continue
		}
		if !strings.Contains(c.HTML(), "divellm-viz-error") {
			t.Errorf("chart %d: HTML does not show the error", i)
		}
		if c.Save(filepath.Join(t.TempDir(), "x.html")) == nil || c.Show() == nil {
			t.Errorf("chart %d: Save/Show returned nil", i)
		}
	}
}

func TestShowDegradedSavesStandalone(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DIVELLM_OUT", dir)
	var out bytes.Buffer
	old := display.Stdout
	display.Stdout = &out
	defer func() { display.Stdout = old }()
	if err := Bars([]string{"a"}, Series{"s", []float64{1}}).Show(); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`chart written to (\S+)`).FindStringSubmatch(out.String())
	if m == nil || filepath.Dir(m[1]) != dir {
		t.Fatalf("output %q", out.String())
	}
	data, _ := os.ReadFile(m[1])
	if !strings.Contains(string(data), "(function(define,exports,module){") || !strings.Contains(string(data), `"kind":"option"`) {
		t.Error("saved file is not a standalone chart page")
	}
}

func TestHeatmapLegendPrecision(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   int
	}{{0, 1, 1}, {0, 0.05, 3}, {0, 250, 0}, {3, 3, 2}} {
		if got := labelPrecision(c.lo, c.hi); got != c.want {
			t.Errorf("labelPrecision(%g, %g) = %d, want %d", c.lo, c.hi, got, c.want)
		}
	}
	h := Heatmap([]string{"a"}, []string{"x", "y"}, [][]float64{{0.1, 0.9}}).HTML()
	if !strings.Contains(h, `"precision":2`) { // range 0.8: two decimals
		t.Fatalf("a 0–1 heatmap's legend has no decimals: %.300s", h)
	}
}

func TestAttentionModelFitsBudgetByLayers(t *testing.T) {
	tokens := make([]string, 60)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("t%d", i)
	}
	one := make([][]float64, 60)
	for i := range one {
		one[i] = make([]float64, 60)
		one[i][i] = 1
	}
	heads := make([][][]float64, 12)
	for h := range heads {
		heads[h] = one
	}
	model := make([][][][]float64, 12)
	for l := range model {
		model[l] = heads
	}
	c := AttentionModel(tokens, model)
	if n := len(c.HTML()); n > Budget {
		t.Fatalf("model view is %d bytes, budget %d", n, Budget)
	}
	layers := specOf(t, c)["layers"].([]any)
	if len(layers) == 0 || len(layers) >= 12 || !strings.Contains(c.title, "AttentionModelLayers") {
		t.Fatalf("%d layers shown, title %q: want the first layers that fit and a note", len(layers), c.title)
	}
	sub := specOf(t, AttentionModelLayers(tokens, model, 5, 6))["layers"].([]any)
	if len(sub) != 1 || sub[0] != "layer 5" {
		t.Fatalf("AttentionModelLayers(5, 6) shows %v", sub)
	}
	if AttentionModelLayers(tokens, model, 3, 20).Err() == nil {
		t.Fatal("out-of-range layers accepted")
	}
}
