package viz

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// echartsOption is implemented by go-echarts charts.
type echartsOption interface {
	Validate()
	JSON() map[string]interface{}
}

// common global options: toolbox with PNG export, tooltip.
func commonOpts(name string) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithToolboxOpts(opts.Toolbox{Right: "10", Feature: &opts.ToolBoxFeature{
			SaveAsImage: &opts.ToolBoxFeatureSaveAsImage{Name: name, Title: "PNG"},
		}}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
	}
}

// optionChart turns a go-echarts chart into a Chart. The option goes through JSON once so
// views can adjust it as plain maps (and tests can read it back).
func optionChart(name string, c echartsOption, height int, tooltip string) (*Chart, map[string]any) {
	c.Validate()
	b, err := json.Marshal(c.JSON())
	if err != nil {
		return errChart(name, err), nil
	}
	var opt map[string]any
	if err := json.Unmarshal(b, &opt); err != nil {
		return errChart(name, err), nil
	}
	delete(opt, "color") // ECharts' default palette is the same; keep outputs small.
	if series, _ := opt["series"].([]any); len(series) == 1 {
		opt["legend"] = map[string]any{"show": false} // a one-series legend is noise
	}
	spec := map[string]any{"kind": "option", "option": opt, "height": strconv.Itoa(height) + "px"}
	if tooltip != "" {
		spec["tooltip"] = tooltip
	}
	return &Chart{name: name, spec: spec}, opt
}

func finite(vals []float64, what string) error {
	for i, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s[%d] is %v", what, i, v)
		}
	}
	return nil
}

// HistogramCounts splits [min, max] of values into bins equal-width bins and counts the
// values in each: bin i covers [edges[i], edges[i+1]), the last bin includes max. If all
// values are equal the range is widened by ±0.5.
func HistogramCounts(values []float64, bins int) (edges []float64, counts []int, err error) {
	if bins < 1 {
		return nil, nil, fmt.Errorf("bins = %d, want ≥ 1", bins)
	}
	if len(values) == 0 {
		return nil, nil, errors.New("no values")
	}
	if err := finite(values, "values"); err != nil {
		return nil, nil, err
	}
	lo, hi := values[0], values[0]
	for _, v := range values {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	width := (hi - lo) / float64(bins)
	edges = make([]float64, bins+1)
	for i := range edges {
		edges[i] = lo + float64(i)*width
	}
	edges[bins] = hi
	counts = make([]int, bins)
	for _, v := range values {
		i := int((v - lo) / width)
		if i >= bins {
			i = bins - 1
		}
		counts[i]++
	}
	return edges, counts, nil
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// Histogram draws the distribution of values in bins equal-width bins (for weights before
// and after quantization, activations, errors). Bars are labelled by their left edge; the
// tooltip shows the bin range.
func Histogram(values []float64, bins int, title string) *Chart {
	edges, counts, err := HistogramCounts(values, bins)
	if err != nil {
		return errChart("Histogram", err)
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(append(commonOpts("histogram"),
		charts.WithTitleOpts(opts.Title{Title: title}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Name: "value"}),
		charts.WithYAxisOpts(opts.YAxis{Name: "count"}),
	)...)
	labels := make([]string, bins)
	data := make([]opts.BarData, bins)
	for i := range counts {
		labels[i] = fmtNum(edges[i])
		data[i] = opts.BarData{Name: "[" + fmtNum(edges[i]) + ", " + fmtNum(edges[i+1]) + ")", Value: counts[i]}
	}
	bar.SetXAxis(labels).AddSeries("count", data, charts.WithBarChartOpts(opts.BarChart{BarCategoryGap: "0%"}))
	c, _ := optionChart("histogram", bar, 400, "")
	return c.Title(title)
}

// Series is one named series of values for Bars (one value per label).
type Series struct {
	Name   string
	Values []float64
}

// Bars draws grouped bars: one group per label, one bar per series (latency or size of
// each quantization method, accuracy per model, …).
func Bars(labels []string, series ...Series) *Chart {
	if len(series) == 0 {
		return errChart("Bars", errors.New("no series"))
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(append(commonOpts("bars"),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "25"}),
		charts.WithXAxisOpts(opts.XAxis{AxisLabel: &opts.AxisLabel{Interval: "0"}}),
	)...)
	bar.SetXAxis(labels)
	for _, s := range series {
		if len(s.Values) != len(labels) {
			return errChart("Bars", fmt.Errorf("series %q has %d values for %d labels", s.Name, len(s.Values), len(labels)))
		}
		if err := finite(s.Values, s.Name); err != nil {
			return errChart("Bars", err)
		}
		data := make([]opts.BarData, len(s.Values))
		for i, v := range s.Values {
			data[i] = opts.BarData{Value: v}
		}
		bar.AddSeries(s.Name, data)
	}
	c, _ := optionChart("bars", bar, 400, "")
	return c
}

// heatmapChart builds a heatmap over category axes with a continuous visual map.
func heatmapChart(name string, rows, cols []string, values [][]float64, lo, hi float64, colors []string) (*Chart, map[string]any) {
	hm := charts.NewHeatMap()
	hm.SetGlobalOptions(append(commonOpts(name),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: cols, AxisLabel: &opts.AxisLabel{Interval: "0"}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: rows, AxisLabel: &opts.AxisLabel{Interval: "0"}}),
	)...)
	data := make([]opts.HeatMapData, 0, len(rows)*len(cols))
	for r, row := range values {
		for c, v := range row {
			data = append(data, opts.HeatMapData{Value: [3]any{c, r, v}})
		}
	}
	hm.AddSeries(name, data)
	height := 120 + 22*len(rows)
	if height < 320 {
		height = 320
	}
	ch, opt := optionChart(name, hm, height, "cell")
	if opt != nil {
		// Set here rather than with opts.VisualMap: its Min/Max are float32 and omitted at 0.
		opt["visualMap"] = []any{map[string]any{
			"type": "continuous", "min": lo, "max": hi, "calculable": true, "orient": "vertical",
			"right": 10, "top": "middle", "inRange": map[string]any{"color": colors},
			"precision": labelPrecision(lo, hi), // ECharts' default 0 labels a 0–1 scale "0 / 0"
		}}
		opt["grid"] = map[string]any{"left": 120, "right": 110, "top": 50, "bottom": 60}
		opt["yAxis"].([]any)[0].(map[string]any)["inverse"] = true // row 0 on top, like a matrix
	}
	return ch, opt
}

// labelPrecision is the number of decimals that tells the ends of [lo, hi] apart: two
// significant digits of the range.
func labelPrecision(lo, hi float64) int {
	r := hi - lo
	if !(r > 0) || math.IsInf(r, 0) {
		return 2
	}
	return min(6, max(0, int(math.Ceil(-math.Log10(r)))+1))
}

// Heatmap draws values[row][col] as coloured cells with row and column labels (per-layer ×
// per-matrix quantization error, for example). Colours span the data's min..max.
func Heatmap(rowLabels, colLabels []string, values [][]float64) *Chart {
	if len(values) != len(rowLabels) {
		return errChart("Heatmap", fmt.Errorf("%d rows of values for %d row labels", len(values), len(rowLabels)))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for r, row := range values {
		if len(row) != len(colLabels) {
			return errChart("Heatmap", fmt.Errorf("row %d has %d values for %d column labels", r, len(row), len(colLabels)))
		}
		if err := finite(row, fmt.Sprintf("values[%d]", r)); err != nil {
			return errChart("Heatmap", err)
		}
		for _, v := range row {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if len(values) == 0 || len(colLabels) == 0 {
		return errChart("Heatmap", errors.New("no values"))
	}
	c, _ := heatmapChart("heatmap", rowLabels, colLabels, values, lo, hi, []string{"#fff7ec", "#fdd49e", "#fc8d59", "#d7301f", "#7f0000"})
	return c
}

// PrecisionRecall computes per-class precision and recall from a confusion matrix
// m[true][predicted]: precision_c = m[c][c] / Σ_t m[t][c], recall_c = m[c][c] / Σ_p m[c][p]
// (0 when the denominator is 0).
func PrecisionRecall(m [][]int) (precision, recall []float64) {
	n := len(m)
	precision, recall = make([]float64, n), make([]float64, n)
	for c := 0; c < n; c++ {
		col, row := 0, 0
		for t := 0; t < n; t++ {
			col += m[t][c]
			row += m[c][t]
		}
		if col > 0 {
			precision[c] = float64(m[c][c]) / float64(col)
		}
		if row > 0 {
			recall[c] = float64(m[c][c]) / float64(row)
		}
	}
	return precision, recall
}

// ConfusionMatrix draws m[true][predicted] counts as a heatmap with the counts written in
// the cells, and beside it per-class precision and recall bars.
func ConfusionMatrix(labels []string, m [][]int) *Chart {
	n := len(labels)
	if n == 0 || len(m) != n {
		return errChart("ConfusionMatrix", fmt.Errorf("%d rows for %d labels", len(m), n))
	}
	vals := make([][]float64, n)
	hi := 0.0
	for t, row := range m {
		if len(row) != n {
			return errChart("ConfusionMatrix", fmt.Errorf("row %d has %d columns for %d labels", t, len(row), n))
		}
		vals[t] = make([]float64, n)
		for p, v := range row {
			if v < 0 {
				return errChart("ConfusionMatrix", fmt.Errorf("m[%d][%d] = %d < 0", t, p, v))
			}
			vals[t][p] = float64(v)
			hi = math.Max(hi, float64(v))
		}
	}
	c, opt := heatmapChart("confusion", labels, labels, vals, 0, hi, []string{"#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"})
	if opt == nil {
		return c
	}
	prec, rec := PrecisionRecall(m)
	c.spec["valueLabels"] = true
	size := 40 + 36*n
	if size > 600 {
		size = 600
	}
	c.spec["height"] = strconv.Itoa(size+140) + "px"
	c.spec["width"] = strconv.Itoa(size+560) + "px"
	opt["grid"] = []any{
		map[string]any{"left": 110, "top": 60, "width": size, "height": size},
		map[string]any{"left": size + 260, "top": 60, "width": 220, "height": size},
	}
	xs, ys := opt["xAxis"].([]any), opt["yAxis"].([]any)
	x0, y0 := xs[0].(map[string]any), ys[0].(map[string]any)
	x0["name"], x0["nameLocation"], x0["nameGap"] = "predicted", "middle", 30
	y0["name"], y0["nameLocation"], y0["nameGap"] = "true", "middle", 60
	opt["xAxis"] = append(xs, map[string]any{"type": "value", "gridIndex": 1, "min": 0, "max": 1})
	opt["yAxis"] = append(ys, map[string]any{"type": "category", "gridIndex": 1, "data": labels, "inverse": true, "axisLabel": map[string]any{"interval": 0}})
	vm := opt["visualMap"].([]any)[0].(map[string]any)
	vm["seriesIndex"], vm["right"], vm["top"] = 0, 10, 60
	opt["legend"] = map[string]any{"data": []string{"precision", "recall"}, "left": size + 260, "top": 25}
	series := opt["series"].([]any)
	for _, s := range []struct {
		name string
		v    []float64
	}{{"precision", prec}, {"recall", rec}} {
		series = append(series, map[string]any{"name": s.name, "type": "bar", "xAxisIndex": 1, "yAxisIndex": 1, "data": s.v})
	}
	opt["series"] = series
	return c.Title("confusion matrix (rows: true, columns: predicted)")
}

// Scatter2D draws 2-D points (embeddings after PCA2, for example); labels, if given, name
// each point in the tooltip and, for up to 60 points, beside it.
func Scatter2D(points [][2]float64, labels []string) *Chart {
	if len(labels) != 0 && len(labels) != len(points) {
		return errChart("Scatter2D", fmt.Errorf("%d labels for %d points", len(labels), len(points)))
	}
	sc := charts.NewScatter()
	sc.SetGlobalOptions(append(commonOpts("scatter"),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Scale: opts.Bool(true)}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Scale: opts.Bool(true)}),
	)...)
	data := make([]opts.ScatterData, len(points))
	for i, p := range points {
		if err := finite(p[:], fmt.Sprintf("points[%d]", i)); err != nil {
			return errChart("Scatter2D", err)
		}
		data[i] = opts.ScatterData{Value: []float64{p[0], p[1]}, SymbolSize: 9}
		if len(labels) > 0 {
			data[i].Name = labels[i]
		}
	}
	showLabels := len(labels) > 0 && len(points) <= 60
	sc.AddSeries("points", data, charts.WithLabelOpts(opts.Label{Show: opts.Bool(showLabels), Position: "right", Formatter: "{b}"}))
	c, _ := optionChart("scatter", sc, 480, "point")
	return c
}

// lineChart draws series over x = concurrency levels.
func lineChart(name string, concurrency []int, yName string, series ...Series) *Chart {
	line := charts.NewLine()
	line.SetGlobalOptions(append(commonOpts(name),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "25"}),
		charts.WithXAxisOpts(opts.XAxis{Name: "concurrency", Type: "category"}),
		charts.WithYAxisOpts(opts.YAxis{Name: yName}),
	)...)
	xs := make([]string, len(concurrency))
	for i, c := range concurrency {
		xs[i] = strconv.Itoa(c)
	}
	line.SetXAxis(xs)
	for _, s := range series {
		if len(s.Values) != len(concurrency) {
			return errChart(name, fmt.Errorf("%s has %d values for %d concurrency levels", s.Name, len(s.Values), len(concurrency)))
		}
		if err := finite(s.Values, s.Name); err != nil {
			return errChart(name, err)
		}
		data := make([]opts.LineData, len(s.Values))
		for i, v := range s.Values {
			data[i] = opts.LineData{Value: v}
		}
		line.AddSeries(s.Name, data)
	}
	c, _ := optionChart(name, line, 400, "")
	return c
}

// LatencyPercentiles draws request latency percentiles (ms) against the number of
// concurrent clients: the p50–p99 gap shows queueing as the server saturates.
func LatencyPercentiles(concurrency []int, p50, p90, p99 []float64) *Chart {
	return lineChart("latency", concurrency, "latency (ms)",
		Series{"p50", p50}, Series{"p90", p90}, Series{"p99", p99}).Title("latency percentiles")
}

// Throughput draws generated tokens per second against the number of concurrent clients.
func Throughput(concurrency []int, tokensPerSec []float64) *Chart {
	return lineChart("throughput", concurrency, "tokens/s", Series{"throughput", tokensPerSec}).Title("throughput")
}
