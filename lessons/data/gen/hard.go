package main

import (
	"fmt"
	"strconv"
)

// The HARD alert test set: the eight classes of alerts.go, written from templates,
// wrappers, hosts, services, mounts and domains of their own (tables/hard_alerts.txt)
// that never appear in the alert training data. Each line records its kind of
// difficulty and its template id, so a notebook can break accuracy down by kind, and the
// tests can prove that no line shares a template or a name with training.

// hardKinds are the kinds of difficulty, in output order, with the number of lines each
// class gets (40 per class).
var hardKinds = []struct {
	name string
	n    int
}{
	{"word_order", 7}, {"english", 7}, {"abbrev", 6}, {"two_symptoms", 7}, {"near_miss", 7}, {"new_vocab", 6},
}

// hardClass holds one class's templates, one list per kind in hardKinds order.
type hardClass struct {
	label, zh string
	kinds     [][]string
}

// Loaded from tables/hard_alerts.txt.
var (
	hardClasses                                []hardClass
	hardHosts, hardServices, hardMounts        []string
	hardDomains, hardKeys, hardFiles, hardVals []string
	hardPorts, hardSeverities                  []string
	hardMaxConns                               []int
	hardWrappersZH, hardWrappersEN             []string
)

var syslogMonths = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func loadHard(t *treader) {
	h := t.f.head
	hardHosts, hardServices, hardMounts = t.words(h, "hosts"), t.words(h, "services"), t.words(h, "mounts")
	hardDomains, hardKeys, hardFiles, hardVals = t.words(h, "domains"), t.words(h, "keys"), t.words(h, "files"), t.words(h, "vals")
	hardPorts, hardSeverities = t.words(h, "ports"), t.words(h, "severities")
	hardMaxConns = nil
	for _, w := range t.words(h, "max_conns") {
		n, err := strconv.Atoi(w)
		if err != nil || n < 10 {
			t.failf(1, nil, "max_conns: %q is not a number ≥ 10", w)
		}
		hardMaxConns = append(hardMaxConns, n)
	}
	hardWrappersZH, hardWrappersEN = t.list(h, "wrappers_zh"), t.list(h, "wrappers_en")
	const order = "want one record per class of tables/alerts.txt, in the same order"
	hardClasses = nil
	for i, r := range t.f.recs {
		if i >= len(alertClasses) || alertClasses[i].label != r.id {
			t.failf(r.line, r, order)
			return
		}
		c := hardClass{label: r.id, zh: alertClasses[i].zh}
		for _, k := range hardKinds {
			c.kinds = append(c.kinds, t.list(r, k.name))
		}
		hardClasses = append(hardClasses, c)
	}
	if len(hardClasses) != len(alertClasses) {
		t.failf(1, nil, order)
	}
	if len(hardServices) < 2 {
		t.failf(1, nil, "want at least two services")
	}
}

// hardSlots draws the values of every slot of a hard template and its wrapper, always in
// the same order.
func hardSlots(g *rng) []string {
	host := fmt.Sprintf("%s-%02d", g.pick(hardHosts), g.between(1, 40))
	si := g.r.IntN(len(hardServices))
	sj := g.r.IntN(len(hardServices) - 1)
	if sj >= si {
		sj++
	}
	maxConns := hardMaxConns[g.r.IntN(len(hardMaxConns))]
	return []string{
		"H", host, "S", hardServices[si], "S2", hardServices[sj], "M", g.pick(hardMounts), "D", g.pick(hardDomains),
		"IP", fmt.Sprintf("172.%d.%d.%d", g.between(16, 31), g.between(0, 254), g.between(2, 254)),
		"PORT", g.pick(hardPorts), "KEY", g.pick(hardKeys), "FILE", g.pick(hardFiles), "VAL", g.pick(hardVals),
		"P", fmt.Sprint(g.between(91, 99)), "PL", fmt.Sprint(g.between(3, 40)), "LOSS", fmt.Sprint(g.between(12, 70)),
		"MS", fmt.Sprint(g.between(800, 9000)), "N", fmt.Sprint(g.between(3, 30)),
		"N2", fmt.Sprint(maxConns * g.between(95, 100) / 100), "MAX", fmt.Sprint(maxConns), "MIN", fmt.Sprint(g.between(5, 55)),
		"GB", fmt.Sprintf("0.%d", g.between(1, 9)), "MB", fmt.Sprint(g.between(20, 400)), "DAYS", fmt.Sprint(g.between(1, 9)),
		"DATE", fmt.Sprintf("2026-%02d-%02d", g.between(1, 12), g.between(1, 28)), "LINE", fmt.Sprint(g.between(2, 180)),
		"LOAD", fmt.Sprintf("%d.%02d", g.between(30, 95), g.between(0, 99)), "CPUP", fmt.Sprint(g.between(200, 790)),
		"PID", fmt.Sprint(g.between(300, 99999)), "HM", fmt.Sprintf("%02d:%02d", g.between(0, 23), g.between(0, 59)),
		"TICKET", fmt.Sprint(g.between(1000, 99999)),
		"SYSLOG", fmt.Sprintf("%s %d %02d:%02d:%02d", g.pick(syslogMonths), g.between(1, 28), g.between(0, 23), g.between(0, 59), g.between(0, 59)),
		"SEV", g.pick(hardSeverities),
	}
}

// buildHard writes, for every class and kind, the kind's number of lines, going through
// the kind's templates in turn; a line equal to an avoided text (training alerts, corpus
// lines) or to an earlier line is drawn again.
func buildHard(g *rng, avoid map[string]bool) ([]alert, error) {
	seen := map[string]bool{}
	var out []alert
	for _, c := range hardClasses {
		for ki, k := range hardKinds {
			tmpls := c.kinds[ki]
			wrappers := hardWrappersZH
			if k.name == "english" {
				wrappers = hardWrappersEN
			}
			for i := range k.n {
				ti := i % len(tmpls)
				for tries := 0; ; tries++ {
					if tries > 100 {
						return nil, fmt.Errorf("hard alerts: cannot write a new line for %s/%s from %q", c.label, k.name, tmpls[ti])
					}
					slots := hardSlots(g)
					w := g.pick(wrappers)
					text := fill(w, append(slots, "MSG", fill(tmpls[ti], slots...))...)
					if seen[text] || avoid[text] {
						continue
					}
					seen[text] = true
					out = append(out, alert{text: text, label: c.label, labelZH: c.zh, tmpls: []string{tmpls[ti], w},
						kind: k.name, id: fmt.Sprintf("%s/%s/%d", c.label, k.name, ti+1)})
					break
				}
			}
		}
	}
	g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}
