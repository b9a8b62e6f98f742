package main

import (
	"fmt"

	"github.com/divellm/divellm/lessons/data"
)

// Week 2 classification data: an alert text → its root cause. Templates (tables/alerts.txt),
// hosts and services differ from the corpus's alert lines. About a third of the examples are hard
// on purpose (they borrow another class's vocabulary: 数据库连接超时 caused by packet loss,
// a service that exits because its disk is full, 已排除磁盘问题 …) and a few are vague
// symptom reports whose label the text cannot decide, so a bag-of-characters model does
// not reach 100%.

// alert is one example. tmpls lists the templates its text was made from (message,
// prefixes, suffix, wrapper), so that tests can prove the hard set shares none of them;
// kind and id are set for the hard set only.
type alert struct {
	text, label, labelZH string
	tmpls                []string
	kind, id             string
}

// alertClass is one root cause with its clear and hard message templates.
type alertClass struct {
	label, zh   string
	ruledOut    string // how an engineer says this cause was ruled out: 已排除{ruledOut}
	clear, hard []string
}

// Loaded from tables/alerts.txt: the classes with their templates, the vague symptoms
// (the text alone cannot tell the cause; a few examples of every class use them so that
// no model can be perfect) and the values that fill the templates' slots.
var (
	alertClasses                                     []alertClass
	vagueAlerts                                      []string
	alertServices, alertHostPrefix, alertDomains     []string
	alertMounts, alertKeys, alertNumKeys, alertFiles []string
	alertEnvs, alertOpts, alertVals, alertProcs      []string
	alertPorts, alertMaxConns                        []string
	reporters, notePrefixes, monitors, severities    []string
	alertSuffixes                                    []string // appended to a message; "" for none
)

// fillAlert fills every slot of an alert template with random values.
func fillAlert(g *rng, t string) string {
	return fill(t,
		"P", fmt.Sprint(g.between(85, 99)), "P2", fmt.Sprint(g.between(5, 40)),
		"P3", fmt.Sprintf("%d.%d", g.between(1, 9), g.between(0, 9)),
		"G", fmt.Sprintf("%d.%d", g.between(0, 9), g.between(1, 9)), "G2", fmt.Sprint(g.between(50, 900)),
		"MB", fmt.Sprint(g.between(30, 900)), "N", fmt.Sprint(g.between(2, 30)), "N2", fmt.Sprint(g.between(450, 1990)),
		"MAX", g.pick(alertMaxConns), "MS", fmt.Sprint(g.between(300, 5000)),
		"T", fmt.Sprint(g.between(3, 40)), "PID", fmt.Sprint(g.between(1000, 60000)),
		"PORT", g.pick(alertPorts), "IP", fmt.Sprintf("10.%d.%d.%d", g.between(1, 254), g.between(0, 254), g.between(2, 254)),
		"D", g.pick(alertDomains), "DAYS", fmt.Sprint(g.between(1, 14)), "M", g.pick(alertMounts),
		"S", g.pick(alertServices), "KEY", g.pick(alertKeys), "FILE", g.pick(alertFiles),
		"NUMKEY", g.pick(alertNumKeys),
		"LINE", fmt.Sprint(g.between(3, 200)), "ENV", g.pick(alertEnvs), "OPT", g.pick(alertOpts),
		"VAL", g.pick(alertVals), "LOAD", fmt.Sprintf("%d.%02d", g.between(20, 90), g.between(0, 99)),
		"X", fmt.Sprint(g.between(2, 6)), "CPUP", fmt.Sprint(g.between(150, 790)), "PROC", g.pick(alertProcs),
		"RACK", fmt.Sprintf("%c%02d", 'A'+rune(g.r.IntN(6)), g.between(1, 20)),
		"DATE", fmt.Sprintf("2026-%02d-%02d", g.between(1, 12), g.between(1, 28)),
		"TIME", fmt.Sprintf("%02d:%02d", g.between(0, 23), g.between(0, 59)),
	)
}

// alertWrappers are the formats of wrapAlert, in the order of its cases.
var alertWrappers = []string{
	"【%s 告警】%s %s",
	"级别=%s 主机=10.%d.%d.%d 服务=%s 内容：%s",
	"2026-%02d-%02dT%02d:%02d:%02d+08:00 %s %s: %s",
	"%s：%s",
	"[%s] %s | %s",
	"%s",
}

// wrapAlert appends a suffix to a message and puts it into one of the formats alert
// texts arrive in, chosen independently of the class. It returns the text and the
// suffix and format templates it used.
func wrapAlert(g *rng, msg string) (string, []string) {
	suffix := alertSuffixes[g.r.IntN(len(alertSuffixes))]
	msg += fillAlert(g, suffix)
	host := fmt.Sprintf("%s-%d", g.pick(alertHostPrefix), g.between(1, 120))
	svc := g.pick(alertServices)
	i := g.r.IntN(len(alertWrappers))
	w := alertWrappers[i]
	var text string
	switch i {
	case 0:
		text = fmt.Sprintf(w, g.pick(severities), host, msg)
	case 1:
		text = fmt.Sprintf(w, g.pick(severities), g.between(1, 254), g.between(0, 254), g.between(2, 254), svc, msg)
	case 2:
		text = fmt.Sprintf(w, g.between(1, 12), g.between(1, 28), g.between(0, 23), g.between(0, 59), g.between(0, 59), host, svc, msg)
	case 3:
		text = fmt.Sprintf(w, g.pick(notePrefixes), msg)
	case 4:
		text = fmt.Sprintf(w, g.pick(monitors), svc, msg)
	default:
		text = fmt.Sprintf(w, msg)
	}
	return text, []string{suffix, w}
}

const (
	alertsPerClass = 300
	alertsVal      = 30 // per class
	alertsTest     = 30 // per class
	pVague         = 0.05
	pHard          = 0.35
	pRuledOut      = 0.12
)

// buildAlerts generates alertsPerClass distinct examples per class, none equal to a
// corpus line, and splits each class 80/10/10 into train/val/test.
func buildAlerts(g *rng, corpus map[string]bool) (map[string][]alert, error) {
	seen := map[string]bool{}
	splits := map[string][]alert{}
	for _, c := range alertClasses {
		var got []alert
		for tries := 0; len(got) < alertsPerClass; tries++ {
			if tries > 100*alertsPerClass {
				return nil, fmt.Errorf("alerts: only %d distinct examples for %s", len(got), c.label)
			}
			var t string
			var tmpls []string
			switch r := g.r.Float64(); {
			case r < pVague:
				t = vagueAlerts[g.r.IntN(len(vagueAlerts))]
				tmpls = append(tmpls, t)
				if g.chance(0.5) {
					t = g.pick(reporters) + "反馈：" + t
					tmpls = append(tmpls, "{R}反馈：")
				}
			case r < pVague+pHard:
				t = c.hard[g.r.IntN(len(c.hard))]
				tmpls = append(tmpls, t)
			default:
				t = c.clear[g.r.IntN(len(c.clear))]
				tmpls = append(tmpls, t)
			}
			if g.chance(pRuledOut) {
				other := alertClasses[g.r.IntN(len(alertClasses))]
				if other.label != c.label {
					t = "已排除" + other.ruledOut + "，" + t
					tmpls = append(tmpls, "已排除"+other.ruledOut+"，")
				}
			}
			text, wt := wrapAlert(g, fillAlert(g, t))
			if seen[text] || corpus[text] {
				continue
			}
			seen[text] = true
			got = append(got, alert{text: text, label: c.label, labelZH: c.zh, tmpls: append(tmpls, wt...)})
		}
		splits["val"] = append(splits["val"], got[:alertsVal]...)
		splits["test"] = append(splits["test"], got[alertsVal:alertsVal+alertsTest]...)
		splits["train"] = append(splits["train"], got[alertsVal+alertsTest:]...)
	}
	for _, s := range []string{"train", "val", "test"} {
		xs := splits[s]
		g.r.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	}
	return splits, nil
}

func alertsJSONL(as []alert) []byte {
	rs := make([]data.Alert, len(as))
	for i, a := range as {
		rs[i] = data.Alert{Text: a.text, Label: a.label, LabelZH: a.labelZH, Kind: a.kind, Template: a.id}
	}
	return jsonLines(rs)
}
