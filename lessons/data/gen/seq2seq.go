package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/divellm/divellm/lessons/data"
)

// Two toy sequence-to-sequence tasks for a tiny encoder-decoder that trains in under a
// minute (tables/seq2seq.txt):
//
//   - alerts: 09-14 02:13:07 [CRITICAL] db-03 磁盘使用率 97% → db-03 磁盘 97% 严重. The
//     host and the value are copied, the metric shortened and the level mapped, so the
//     cross-attention of each output character has a visible source. The test split's
//     hosts never occur in training.
//   - dates: 三月十四日凌晨两点十三分 → 03-14 02:13, the fallback: every output digit is
//     mapped from a Chinese numeral, and the period (凌晨, 下午 …) decides the hour.

// Limits and sizes.
const (
	s2sSourceMax = data.Seq2SeqMaxSource
	s2sTargetMax = data.Seq2SeqMaxTarget
	s2sTrain     = 2400
	s2sTest      = 240
	s2sTestHosts = 15 // percent of the hosts held out for the test split
)

type s2sMetric struct{ key, source, target string }

type s2sPeriod struct {
	name        string
	first, last int // hours of the 24-hour clock
}

// Loaded from tables/seq2seq.txt.
var (
	s2sMetrics []s2sMetric
	s2sHosts   []string
	s2sLevels  [][]string // LEVEL, word
	s2sPeriods []s2sPeriod
)

func loadSeq2Seq(t *treader) {
	h := t.f.head
	s2sHosts, s2sLevels = t.words(h, "hosts"), t.cols(h, "levels", 2)
	if len(s2sLevels) != 2 && t.err == nil {
		t.failf(1, nil, "levels: want CRITICAL and WARNING")
	}
	s2sPeriods = nil
	for _, p := range t.cols(h, "periods", 3) {
		first, err1 := strconv.Atoi(p[1])
		last, err2 := strconv.Atoi(p[2])
		if err1 != nil || err2 != nil || first < 0 || last > 23 || first > last {
			t.failf(1, nil, "periods: %q: want two hours 0–23, the first not after the last", strings.Join(p, partSep))
		}
		s2sPeriods = append(s2sPeriods, s2sPeriod{p[0], first, last})
	}
	s2sMetrics = nil
	for _, r := range t.f.recs {
		s2sMetrics = append(s2sMetrics, s2sMetric{r.id, t.str(r, "source"), t.str(r, "target")})
	}
}

type s2sPair struct{ source, target string }

// s2sAlert writes one alert line of metric m on host h and its summary. The level is
// CRITICAL when the value is severe.
func s2sAlert(g *rng, h string, m s2sMetric) s2sPair {
	var severe bool
	var kv []string
	switch m.key {
	case "loss":
		l := g.between(5, 60)
		severe, kv = l >= 30, []string{"L", fmt.Sprint(l)}
	case "conn":
		limit := []int{500, 1000, 2000}[g.r.IntN(3)]
		c := limit * g.between(80, 100) / 100
		severe, kv = c*100 >= 95*limit, []string{"C", fmt.Sprint(c), "MAX", fmt.Sprint(limit)}
	case "latency":
		ms := 10 * g.between(10, 99)
		severe, kv = ms >= 500, []string{"MS", fmt.Sprint(ms)}
	case "cert":
		d := g.between(1, 30)
		severe, kv = d <= 3, []string{"D", fmt.Sprint(d)}
	case "down":
		severe = true
	default: // a percentage: disk, mem, cpu
		p := g.between(80, 99)
		severe, kv = p >= 95, []string{"P", fmt.Sprint(p)}
	}
	level := s2sLevels[1]
	if severe {
		level = s2sLevels[0]
	}
	ts := fmt.Sprintf("%02d-%02d %02d:%02d:%02d", g.between(1, 12), g.between(1, 28), g.between(0, 23), g.between(0, 59), g.between(0, 59))
	return s2sPair{
		source: fmt.Sprintf("%s [%s] %s %s", ts, level[0], h, fill(m.source, kv...)),
		target: fmt.Sprintf("%s %s %s", h, fill(m.target, kv...), level[1]),
	}
}

var zhDigits = []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}

// zhNumber writes 1–59 in Chinese: 十四, 二十, 三十一.
func zhNumber(n int) string {
	switch {
	case n < 10:
		return zhDigits[n]
	case n == 10:
		return "十"
	case n < 20:
		return "十" + zhDigits[n%10]
	case n%10 == 0:
		return zhDigits[n/10] + "十"
	}
	return zhDigits[n/10] + "十" + zhDigits[n%10]
}

// s2sDate writes a spoken date and time and its MM-DD HH:MM form.
func s2sDate(g *rng) s2sPair {
	month, day, hour, minute := g.between(1, 12), g.between(1, 28), g.between(0, 23), g.between(0, 59)
	var ps []s2sPeriod
	for _, p := range s2sPeriods {
		if p.first <= hour && hour <= p.last {
			ps = append(ps, p)
		}
	}
	p := ps[g.r.IntN(len(ps))]
	var h string
	switch h12 := hour % 12; {
	case hour == 0:
		h = "零点"
	case hour == 12:
		h = "十二点"
	case h12 == 2:
		h = "两点"
	default:
		h = zhNumber(h12) + "点"
	}
	var m string
	switch {
	case minute == 0:
		m = g.pick([]string{"", "整"})
	case minute == 30:
		m = g.pick([]string{"半", "三十分"})
	case minute < 10:
		m = "零" + zhNumber(minute) + "分"
	default:
		m = zhNumber(minute) + "分"
	}
	return s2sPair{
		source: zhNumber(month) + "月" + zhNumber(day) + g.pick([]string{"日", "号"}) + p.name + h + m,
		target: fmt.Sprintf("%02d-%02d %02d:%02d", month, day, hour, minute),
	}
}

// buildSeq2Seq writes both tasks' splits. Test sources never occur in training, and the
// alert test split's hosts are s2sTestHosts percent of all hosts, never used in training.
func buildSeq2Seq(g *rng) (map[string][]s2sPair, error) {
	var hosts []string
	for _, p := range s2sHosts {
		for n := 1; n <= 99; n++ {
			hosts = append(hosts, fmt.Sprintf("%s-%02d", p, n))
		}
	}
	g.r.Shuffle(len(hosts), func(i, j int) { hosts[i], hosts[j] = hosts[j], hosts[i] })
	nTest := len(hosts) * s2sTestHosts / 100
	testHosts, trainHosts := hosts[:nTest], hosts[nTest:]

	out := map[string][]s2sPair{}
	for _, task := range []struct {
		name string
		make func(split string) s2sPair
	}{
		{"alerts", func(split string) s2sPair {
			hs := trainHosts
			if split == "test" {
				hs = testHosts
			}
			return s2sAlert(g, g.pick(hs), s2sMetrics[g.r.IntN(len(s2sMetrics))])
		}},
		{"dates", func(string) s2sPair { return s2sDate(g) }},
	} {
		seen := map[string]bool{}
		for _, split := range []string{"train", "test"} {
			n := s2sTrain
			if split == "test" {
				n = s2sTest
			}
			var pairs []s2sPair
			for tries := 0; len(pairs) < n; tries++ {
				if tries > 20*n {
					return nil, fmt.Errorf("seq2seq %s %s: only %d distinct pairs", task.name, split, len(pairs))
				}
				p := task.make(split)
				if seen[p.source] {
					continue
				}
				if utf8.RuneCountInString(p.source) > s2sSourceMax || utf8.RuneCountInString(p.target) > s2sTargetMax {
					return nil, fmt.Errorf("seq2seq %s: %q → %q is longer than %d → %d characters (shorten tables/seq2seq.txt)",
						task.name, p.source, p.target, s2sSourceMax, s2sTargetMax)
				}
				seen[p.source] = true
				pairs = append(pairs, p)
			}
			out[task.name+"_"+split] = pairs
		}
	}
	return out, nil
}

func s2sJSONL(name string, xs []s2sPair) []byte {
	rs := make([]data.Seq2SeqPair, len(xs))
	for i, x := range xs {
		rs[i] = data.Seq2SeqPair{ID: fmt.Sprintf("%s-%04d", name, i+1), Source: x.source, Target: x.target}
	}
	return jsonLines(rs)
}
