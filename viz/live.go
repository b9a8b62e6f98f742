package viz

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/divellm/divellm/kernel/display"
)

// MaxLivePoints caps the points a LiveLoss draws per series; longer runs are averaged in
// equal buckets of steps so a chart output stays small (the full history is kept).
const MaxLivePoints = 1000

// LiveLoss is a training-loss chart (train and validation) that redraws in place in the
// running cell as steps are added, with a progress bar (tokens/s, ETA) under it when the
// number of steps is known. Outside a notebook it rewrites one standalone HTML file.
type LiveLoss struct {
	// Progress is the bar under the chart (nil if totalSteps was 0); set its
	// TokensPerStep to see tokens/s.
	Progress *display.Progress
	// MinInterval is the minimum time between two redraws (default 500ms).
	MinInterval time.Duration

	mu        sync.Mutex
	title     string
	id        string
	steps     []float64
	train     []float64
	val       []float64 // NaN where no validation loss was given
	last      time.Time
	path      string // degraded: the file rewritten on each draw
	now       func() time.Time
	drawCount int
}

// NewLiveLoss returns a live loss chart titled title; totalSteps > 0 adds a progress bar.
func NewLiveLoss(title string, totalSteps int) *LiveLoss {
	l := &LiveLoss{title: title, id: display.NewID(), now: time.Now}
	if totalSteps > 0 {
		l.Progress = display.NewProgress(totalSteps, title)
	}
	return l
}

// Add records the losses at step (pass math.NaN() for val when there is no validation
// loss at this step) and redraws if MinInterval has passed or this is the last step; the
// progress bar, if any, is updated too. Call Done after the loop to be sure the final state
// is drawn (needed when totalSteps was 0).
func (l *LiveLoss) Add(step int, train, val float64) error {
	l.mu.Lock()
	l.steps = append(l.steps, float64(step))
	l.train = append(l.train, train)
	l.val = append(l.val, val)
	interval := l.MinInterval
	if interval == 0 {
		interval = 500 * time.Millisecond
	}
	now := l.now()
	final := l.Progress != nil && step >= l.Progress.Total
	draw := l.last.IsZero() || now.Sub(l.last) >= interval || final
	if draw {
		l.last = now
	}
	l.mu.Unlock()
	if l.Progress != nil {
		fields := map[string]float64{"train": train}
		if !math.IsNaN(val) {
			fields["val"] = val
		}
		if err := l.Progress.Update(step, fields); err != nil {
			return err
		}
	}
	if draw {
		return l.draw()
	}
	return nil
}

// Done draws the final chart (call it after the training loop).
func (l *LiveLoss) Done() error { return l.draw() }

// bucket averages (x, y) into at most max points, skipping NaN ys; nil for no points.
func bucket(x, y []float64, max int) [][2]float64 {
	n := len(x)
	size := 1
	if n > max {
		size = (n + max - 1) / max
	}
	var out [][2]float64
	for s := 0; s < n; s += size {
		sx, sy, k := 0.0, 0.0, 0
		for i := s; i < s+size && i < n; i++ {
			if !math.IsNaN(y[i]) {
				sx, sy, k = sx+x[i], sy+y[i], k+1
			}
		}
		if k > 0 {
			out = append(out, [2]float64{sx / float64(k), sy / float64(k)})
		}
	}
	return out
}

// Chart returns the current loss chart (also usable after training to Save it).
func (l *LiveLoss) Chart() *Chart {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.train {
		if math.IsNaN(l.train[i]) || math.IsInf(l.train[i], 0) {
			return errChart("LiveLoss", fmt.Errorf("train loss at step %v is %v", l.steps[i], l.train[i]))
		}
	}
	series := []any{}
	for _, s := range []struct {
		name string
		y    []float64
	}{{"训练 (train)", l.train}, {"验证 (val)", l.val}} {
		pts := bucket(l.steps, s.y, MaxLivePoints)
		if pts == nil {
			continue
		}
		series = append(series, map[string]any{"name": s.name, "type": "line", "data": pts, "showSymbol": len(pts) < 60, "connectNulls": true})
	}
	opt := map[string]any{
		"title":   map[string]any{"text": l.title},
		"legend":  map[string]any{"top": 25},
		"tooltip": map[string]any{"trigger": "axis"},
		"xAxis":   map[string]any{"type": "value", "name": "步 (step)", "scale": true},
		"yAxis":   map[string]any{"type": "value", "name": "损失 (loss)", "scale": true},
		"series":  series,
		"toolbox": map[string]any{"right": 10, "feature": map[string]any{"saveAsImage": map[string]any{"name": "loss", "title": "PNG"}}},
	}
	return &Chart{name: "loss", spec: map[string]any{"kind": "option", "option": opt, "height": "360px", "live": l.id}}
}

func (l *LiveLoss) draw() error {
	c := l.Chart()
	if c.err != nil {
		return c.err
	}
	if display.IsNotebook() {
		return display.UpdateHTML(l.id, c.HTML())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.path == "" {
		f, err := display.CreateFile("divellm-loss-*.html")
		if err != nil {
			return err
		}
		l.path = f.Name()
		f.Close()
		if _, err := fmt.Fprintf(display.Stdout, "live loss chart written to %s\n", l.path); err != nil {
			return err
		}
	}
	l.drawCount++
	return c.Save(l.path)
}
