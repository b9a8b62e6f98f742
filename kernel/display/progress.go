package display

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// Progress is a live progress bar for a loop of Total steps (training, evaluation): it
// shows the step, percentage, elapsed time, ETA, throughput (tokens/s when token counts are
// known, else steps/s) and any scalar fields such as the loss. In a notebook it updates one
// output block in place; outside, it prints a line at most every PrintEvery.
//
// Throughput and ETA are measured from the first Update, so time spent before the loop
// (compiling a graph) does not count:
//
//	tokens/s = (tokens(step) − tokens(first)) / (now − t_first)
//	ETA      = (Total − step) · (now − t_first) / (step − first)
type Progress struct {
	// Total is the number of steps; Update(Total, …) completes the bar.
	Total int
	// Label is shown before the bar, e.g. "pretrain".
	Label string
	// TokensPerStep, when > 0, turns the step rate into tokens/s (batch × sequence length).
	// Alternatively pass the cumulative token count as fields["tokens"].
	TokensPerStep int
	// MinInterval is the minimum time between two notebook updates (default 200ms); the
	// final step is always shown.
	MinInterval time.Duration
	// PrintEvery is the minimum time between two printed lines outside a notebook
	// (default 2s); the final step is always printed.
	PrintEvery time.Duration

	mu         sync.Mutex
	id         string
	now        func() time.Time
	started    bool
	firstStep  int
	firstTok   float64
	firstTime  time.Time
	lastShown  time.Time
	lastStep   int
	lastFields map[string]float64
}

// NewProgress returns a progress bar for total steps with a label. Nothing is displayed
// until the first Update.
func NewProgress(total int, label string) *Progress {
	return &Progress{Total: total, Label: label, id: NewID(), now: time.Now}
}

// ProgressStats is what a Progress shows for one update, computed by Stats.
type ProgressStats struct {
	Step, Total int
	// Fraction done in [0,1].
	Fraction float64
	// Elapsed since the first Update, and the estimated time left (0 if unknown).
	Elapsed, ETA time.Duration
	// Rate is tokens/s if Tokens is true, else steps/s; 0 until two updates are seen.
	Rate   float64
	Tokens bool
}

// Update records that step steps (of Total) are done, with optional scalar fields shown
// beside the bar (for example {"loss": 2.31}; the key "tokens" is the cumulative token
// count used for tokens/s). It redraws at most every MinInterval, and always at the last
// step. The error reports a broken notebook connection or an unwritable output file.
func (p *Progress) Update(step int, fields map[string]float64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if !p.started {
		p.started = true
		p.firstStep, p.firstTime = step, now
		p.firstTok = fields["tokens"]
	}
	p.lastStep, p.lastFields = step, fields
	final := step >= p.Total
	if IsNotebook() {
		interval := p.MinInterval
		if interval == 0 {
			interval = 200 * time.Millisecond
		}
		if !final && !p.lastShown.IsZero() && now.Sub(p.lastShown) < interval {
			return nil
		}
		p.lastShown = now
		return UpdateHTML(p.id, p.htmlLocked(now))
	}
	every := p.PrintEvery
	if every == 0 {
		every = 2 * time.Second
	}
	if !final && !p.lastShown.IsZero() && now.Sub(p.lastShown) < every {
		return nil
	}
	p.lastShown = now
	_, err := fmt.Fprintln(Stdout, p.textLocked(now))
	return err
}

// Stats returns the numbers the bar shows after the latest Update, measured at now.
func (p *Progress) Stats(now time.Time) ProgressStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statsLocked(now)
}

func (p *Progress) statsLocked(now time.Time) ProgressStats {
	s := ProgressStats{Step: p.lastStep, Total: p.Total}
	if p.Total > 0 {
		s.Fraction = math.Min(1, math.Max(0, float64(p.lastStep)/float64(p.Total)))
	}
	if !p.started {
		return s
	}
	s.Elapsed = now.Sub(p.firstTime)
	done := p.lastStep - p.firstStep
	secs := s.Elapsed.Seconds()
	if done > 0 && secs > 0 {
		stepRate := float64(done) / secs
		s.Rate = stepRate
		if tok, ok := p.lastFields["tokens"]; ok {
			s.Rate, s.Tokens = (tok-p.firstTok)/secs, true
		} else if p.TokensPerStep > 0 {
			s.Rate, s.Tokens = stepRate*float64(p.TokensPerStep), true
		}
		if left := p.Total - p.lastStep; left > 0 {
			s.ETA = time.Duration(float64(left) / stepRate * float64(time.Second))
		}
	}
	return s
}

// fieldsText formats the fields other than "tokens" as "k=v" sorted by key.
func fieldsText(f map[string]float64) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		if k != "tokens" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%.4g", k, f[k])
	}
	return strings.Join(parts, " ")
}

// FormatDuration prints d compactly for a progress line: "1h02m03s", "4m05s", "12.3s".
func FormatDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	}
	return fmt.Sprintf("%dm%02ds", m, s)
}

func rateText(s ProgressStats) string {
	unit := "steps/s"
	if s.Tokens {
		unit = "tokens/s"
	}
	if s.Rate == 0 {
		return "– " + unit
	}
	return fmt.Sprintf("%.4g %s", s.Rate, unit)
}

func (p *Progress) textLocked(now time.Time) string {
	s := p.statsLocked(now)
	line := fmt.Sprintf("%s %d/%d (%.0f%%) elapsed %s ETA %s %s", p.Label, s.Step, s.Total,
		100*s.Fraction, FormatDuration(s.Elapsed), FormatDuration(s.ETA), rateText(s))
	if f := fieldsText(p.lastFields); f != "" {
		line += " " + f
	}
	return strings.TrimSpace(line)
}

// Text returns the one-line text form of the bar at now (what the degraded path prints).
func (p *Progress) Text(now time.Time) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.textLocked(now)
}

// HTML returns the HTML form of the bar at now (what the notebook shows).
func (p *Progress) HTML(now time.Time) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.htmlLocked(now)
}

func (p *Progress) htmlLocked(now time.Time) string {
	s := p.statsLocked(now)
	pct := 100 * s.Fraction
	color := "#5470c6"
	if s.Fraction >= 1 {
		color = "#3ba272"
	}
	info := fmt.Sprintf("%d/%d · %.0f%% · elapsed %s · ETA %s · %s", s.Step, s.Total, pct,
		FormatDuration(s.Elapsed), FormatDuration(s.ETA), rateText(s))
	if f := fieldsText(p.lastFields); f != "" {
		info += " · " + f
	}
	return fmt.Sprintf(`<div class="divellm-progress" style="font-family:monospace;font-size:13px;display:flex;align-items:center;gap:8px">`+
		`<span>%s</span>`+
		`<div style="flex:0 0 240px;height:12px;background:#e6e6e6;border-radius:3px;overflow:hidden">`+
		`<div style="width:%.1f%%;height:100%%;background:%s"></div></div>`+
		`<span>%s</span></div>`, html.EscapeString(p.Label), pct, color, html.EscapeString(info))
}
