package align

import (
	"errors"
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/divellm/divellm/kernel/display"
)

// Figure is a picture drawn as inline SVG: the RLHF diagram and the line charts of the
// runs. Show displays it in the notebook cell (outside a notebook, display writes an HTML
// file and prints its path).
type Figure struct {
	svg string
	err error
}

// SVG returns the figure's SVG markup (or an error message).
func (f *Figure) SVG() string {
	if f.err != nil {
		return "<pre>" + html.EscapeString(f.err.Error()) + "</pre>"
	}
	return f.svg
}

// Err is the error that kept the figure from being drawn.
func (f *Figure) Err() error { return f.err }

// Show displays the figure.
func (f *Figure) Show() error {
	if err := display.HTML(`<div style="max-width:100%;overflow-x:auto">` + f.SVG() + `</div>`); err != nil {
		return err
	}
	return f.err
}

const font = `font-family="Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"`

var palette = []string{"#5470c6", "#ee6666", "#91cc75", "#fac858", "#73c0de"}

// Line is one series of a LineChart; Dots marks each point (for sparse series).
type Line struct {
	Name string
	X, Y []float64
	Dots bool
}

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for k := math.Floor(lo / step); k <= math.Ceil(hi/step); k++ {
		out = append(out, k*step)
	}
	return out
}

func fmtTick(v float64) string {
	s := fmt.Sprintf("%.3g", v)
	if s == "-0" {
		return "0"
	}
	return s
}

// LineChart draws lines against a shared x axis (720×330 px). NaN points are skipped.
func LineChart(title, xName, yName string, lines ...Line) *Figure {
	const W, H, left, right, top, bottom = 720.0, 330.0, 64.0, 20.0, 58.0, 46.0
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, l := range lines {
		if len(l.X) != len(l.Y) {
			return &Figure{err: fmt.Errorf("line chart %q: series %q has %d x and %d y values", title, l.Name, len(l.X), len(l.Y))}
		}
		for i := range l.X {
			if math.IsNaN(l.Y[i]) || math.IsInf(l.Y[i], 0) || math.IsNaN(l.X[i]) {
				continue
			}
			xlo, xhi = math.Min(xlo, l.X[i]), math.Max(xhi, l.X[i])
			ylo, yhi = math.Min(ylo, l.Y[i]), math.Max(yhi, l.Y[i])
		}
	}
	if math.IsInf(xlo, 1) {
		return &Figure{err: errors.New("line chart " + title + ": no points")}
	}
	yt := niceTicks(math.Min(ylo, 0), yhi, 6)
	xt := niceTicks(xlo, xhi, 8)
	ylo, yhi = yt[0], yt[len(yt)-1]
	xlo, xhi = math.Min(xlo, xt[0]), math.Max(xhi, xt[len(xt)-1])
	px := func(x float64) float64 { return left + (x-xlo)/(xhi-xlo)*(W-left-right) }
	py := func(y float64) float64 { return H - bottom - (y-ylo)/(yhi-ylo)*(H-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" %s font-size="12">`, W, H, W, H, font)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%.0f" y="22" font-size="15" font-weight="bold">%s</text>`, left, html.EscapeString(title))
	for _, v := range yt {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#e6e6e6"/><text x="%.1f" y="%.1f" text-anchor="end" fill="#555">%s</text>`,
			left, W-right, py(v), py(v), left-6, py(v)+4, fmtTick(v))
	}
	for _, v := range xt {
		if v < xlo || v > xhi {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#999"/><text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">%s</text>`,
			px(v), px(v), H-bottom, H-bottom+5, px(v), H-bottom+18, fmtTick(v))
	}
	fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#999"/>`, left, W-right, H-bottom, H-bottom)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle" fill="#333">%s</text>`, (left+W-right)/2, H-8, html.EscapeString(xName))
	fmt.Fprintf(&b, `<text transform="translate(16 %.0f) rotate(-90)" text-anchor="middle" fill="#333">%s</text>`, (top+H-bottom)/2, html.EscapeString(yName))
	lx := left
	for i, l := range lines {
		col := palette[i%len(palette)]
		var pts []string
		for j := range l.X {
			if math.IsNaN(l.Y[j]) || math.IsInf(l.Y[j], 0) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(l.X[j]), py(l.Y[j])))
			if l.Dots {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %s → %.4g</title></circle>`, px(l.X[j]), py(l.Y[j]), col, html.EscapeString(l.Name), fmtTick(l.X[j]), l.Y[j])
			}
		}
		width := 1.2
		if l.Dots {
			width = 2.2
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="%.1f" points="%s"/>`, col, width, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<rect x="%.0f" y="34" width="14" height="4" fill="%s"/><text x="%.0f" y="40">%s</text>`, lx, col, lx+18, html.EscapeString(l.Name))
		lx += 30 + 13*float64(len([]rune(l.Name)))
	}
	b.WriteString(`</svg>`)
	return &Figure{svg: b.String()}
}

// box is a node of a flow diagram.
type box struct {
	x, y, w, h float64
	lines      []string
	fill       string
}

func (bx box) draw(b *strings.Builder) {
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" rx="8" fill="%s" stroke="#555"/>`, bx.x, bx.y, bx.w, bx.h, bx.fill)
	n := float64(len(bx.lines))
	for i, l := range bx.lines {
		y := bx.y + bx.h/2 + (float64(i)-(n-1)/2)*16 + 5
		weight := ""
		if i == 0 {
			weight = ` font-weight="bold"`
		}
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle"%s>%s</text>`, bx.x+bx.w/2, y, weight, html.EscapeString(l))
	}
}

// arrow draws a horizontal or vertical arrow from a to b with a label above its middle.
func arrow(b *strings.Builder, x1, y1, x2, y2 float64, col string, label ...string) {
	fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="2" marker-end="url(#head%s)"/>`, x1, y1, x2, y2, col, strings.TrimPrefix(col, "#"))
	for i, l := range label {
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle" font-size="11" fill="%s">%s</text>`, (x1+x2)/2, math.Min(y1, y2)-6-float64(len(label)-1-i)*13, col, html.EscapeString(l))
	}
}

// RLHFDiagram draws the two routes from a pretrained model to an aligned one: RLHF's
// three stages (① SFT on demonstrations → ② a reward model trained on human rankings →
// ③ PPO against the reward, held near the SFT model by a KL penalty) and DPO's one step
// (the same preference pairs, a classification-style loss, no reward model, no sampling).
func RLHFDiagram() *Figure {
	var b strings.Builder
	const W, H = 1000.0, 380.0
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" %s font-size="13">`, W, H, W, H, font)
	b.WriteString(`<defs>`)
	for _, c := range []string{"#333333", "#c0392b", "#2e86c1"} {
		fmt.Fprintf(&b, `<marker id="head%s" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="%s"/></marker>`, strings.TrimPrefix(c, "#"), c)
	}
	b.WriteString(`</defs><rect width="100%" height="100%" fill="white"/>`)
	b.WriteString(`<text x="10" y="24" font-size="15" font-weight="bold">RLHF（InstructGPT 的三步）与 DPO（一步）</text>`)
	b.WriteString(`<text x="10" y="46" font-size="12" fill="#666">RLHF 要三个模型（策略、参照、奖励；PPO 通常还要一个价值模型 critic），训练中要不断生成回答：贵，也不稳定。</text>`)
	const dark, red, blue = "#333333", "#c0392b", "#2e86c1"
	pre := box{10, 100, 130, 56, []string{"预训练模型", "pretrained LM"}, "#eeeeee"}
	sft := box{290, 100, 140, 56, []string{"SFT 模型", "π_SFT（= π_ref）"}, "#dbe8f6"}
	rm := box{580, 100, 130, 56, []string{"奖励模型 RM", "r_φ(x, y) → 分数"}, "#fdebd0"}
	ppo := box{860, 100, 130, 56, []string{"对齐后的策略 π_θ", "RLHF 的结果"}, "#d5f5e3"}
	dpo := box{860, 280, 130, 56, []string{"对齐后的策略 π_θ", "DPO 的结果"}, "#d5f5e3"}
	for _, bx := range []box{pre, sft, rm, ppo, dpo} {
		bx.draw(&b)
	}
	y := pre.y + pre.h/2
	arrow(&b, pre.x+pre.w, y, sft.x, y, dark, "① SFT：示范数据", "(demonstrations)")
	arrow(&b, sft.x+sft.w, y, rm.x, y, dark, "② 奖励模型：人类排序", "y_w ≻ y_l (comparisons)")
	arrow(&b, rm.x+rm.w, y, ppo.x, y, dark, "③ PPO：采样、打分、更新", "(reinforcement learning)")
	// PPO's KL anchor: from the SFT model under the boxes to the policy.
	fmt.Fprintf(&b, `<path d="M%.0f %.0f V200 H%.0f V%.0f" fill="none" stroke="%s" stroke-width="2" stroke-dasharray="6 4" marker-end="url(#head%s)"/>`,
		sft.x+sft.w/2+30, sft.y+sft.h, ppo.x+ppo.w/2, ppo.y+ppo.h+2, red, strings.TrimPrefix(red, "#"))
	fmt.Fprintf(&b, `<text x="%.0f" y="218" text-anchor="middle" font-size="12" fill="%s">初始化 + KL 惩罚 −β·KL(π_θ ‖ π_ref)：别离 SFT 模型太远</text>`, (sft.x+ppo.x+ppo.w)/2+40, red)
	// DPO: the same preferences, straight from the SFT model.
	fmt.Fprintf(&b, `<path d="M%.0f %.0f V308 H%.0f" fill="none" stroke="%s" stroke-width="2" marker-end="url(#head%s)"/>`,
		sft.x+sft.w/2-30, sft.y+sft.h, dpo.x, blue, strings.TrimPrefix(blue, "#"))
	cx := (sft.x+dpo.x)/2 + 20
	fmt.Fprintf(&b, `<text x="%.0f" y="298" text-anchor="middle" fill="%s">DPO：同样的偏好对 (x, y_w, y_l)，直接用一个分类式的损失训练策略</text>`, cx, blue)
	fmt.Fprintf(&b, `<text x="%.0f" y="330" text-anchor="middle" font-size="12" fill="%s">L = −log σ(β·[(log π_θ(y_w) − log π_ref(y_w)) − (log π_θ(y_l) − log π_ref(y_l))])</text>`, cx, blue)
	fmt.Fprintf(&b, `<text x="%.0f" y="352" text-anchor="middle" font-size="12" fill="%s">不要奖励模型，训练中不采样；π_ref 就是 SFT 模型，隐式奖励 r = β·(log π_θ − log π_ref)</text>`, cx, blue)
	b.WriteString(`</svg>`)
	return &Figure{svg: b.String()}
}
