package viz

import (
	"errors"
	"fmt"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Lines draws one line per series over categorical x labels (label fractions, epochs,
// settings), with xName and yName naming the axes: learning curves such as macro-F1
// against the share of labelled data, one line per model.
func Lines(x []string, xName, yName string, series ...Series) *Chart {
	if len(series) == 0 {
		return errChart("Lines", errors.New("no series"))
	}
	if len(x) == 0 {
		return errChart("Lines", errors.New("no x labels"))
	}
	line := charts.NewLine()
	line.SetGlobalOptions(append(commonOpts("lines"),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "25"}),
		charts.WithXAxisOpts(opts.XAxis{Name: xName, Type: "category"}),
		charts.WithYAxisOpts(opts.YAxis{Name: yName, Scale: opts.Bool(true)}),
	)...)
	line.SetXAxis(x)
	for _, s := range series {
		if len(s.Values) != len(x) {
			return errChart("Lines", fmt.Errorf("series %q has %d values for %d x labels", s.Name, len(s.Values), len(x)))
		}
		if err := finite(s.Values, s.Name); err != nil {
			return errChart("Lines", err)
		}
		data := make([]opts.LineData, len(s.Values))
		for i, v := range s.Values {
			data[i] = opts.LineData{Value: v}
		}
		line.AddSeries(s.Name, data, charts.WithLabelOpts(opts.Label{Show: opts.Bool(len(x) <= 12), Position: "top"}))
	}
	c, _ := optionChart("lines", line, 400, "")
	return c
}
