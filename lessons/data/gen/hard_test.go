package main

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"unicode"
)

// built is one build shared by the tests that only read it.
var built = sync.OnceValues(build)

func mustBuild(t *testing.T) *dataset {
	t.Helper()
	d, err := built()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// trainingAlerts are the alert splits made from the training templates.
func trainingAlerts(d *dataset) []alert {
	var out []alert
	for _, s := range []string{"train", "val", "test"} {
		out = append(out, d.alerts[s]...)
	}
	return out
}

func TestHardSetShape(t *testing.T) {
	d := mustBuild(t)
	hard := d.alerts["hard"]
	if len(hard) != 320 {
		t.Fatalf("%d hard alerts, want 320", len(hard))
	}
	perClass := map[string]int{}
	perKind := map[string]int{}
	usedTmpl := map[string]bool{}
	for _, a := range hard {
		perClass[a.label]++
		perKind[a.label+"/"+a.kind]++
		usedTmpl[a.tmpls[0]] = true
		if a.kind == "english" {
			for _, r := range a.text {
				if r >= 0x80 {
					t.Errorf("english line has %q: %s", r, a.text)
					break
				}
			}
		} else if !strings.ContainsFunc(a.text, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("%s line has no Chinese: %s", a.kind, a.text)
		}
		if !strings.HasPrefix(a.id, a.label+"/"+a.kind+"/") {
			t.Errorf("template id %q does not name %s/%s", a.id, a.label, a.kind)
		}
	}
	for _, c := range alertClasses {
		if perClass[c.label] != 40 {
			t.Errorf("%s: %d hard alerts, want 40", c.label, perClass[c.label])
		}
		for _, k := range hardKinds {
			if n := perKind[c.label+"/"+k.name]; n != k.n {
				t.Errorf("%s/%s: %d lines, want %d", c.label, k.name, n, k.n)
			}
		}
	}
	for _, c := range hardClasses {
		for ki, tmpls := range c.kinds {
			for _, tm := range tmpls {
				if !usedTmpl[tm] {
					t.Errorf("%s/%s template %q is never used", c.label, hardKinds[ki].name, tm)
				}
			}
		}
	}
}

var slotRE = regexp.MustCompile(`\{[A-Z0-9]+\}|%[0-9]*[sd]`)

// skeleton is the fixed text of a template as units (see textUnits), slots removed.
func skeleton(tmpl string) []string { return textUnits(slotRE.ReplaceAllString(tmpl, " ")) }

// sharedTemplate reports the training template that hard template h repeats: the same
// fixed text, or one fixed text inside the other when the inner one has at least 4 units.
func sharedTemplate(h string, train []string) (string, bool) {
	hs := skeleton(h)
	if len(hs) == 0 {
		return "", false
	}
	hj := " " + strings.Join(hs, " ") + " "
	for _, tr := range train {
		ts := skeleton(tr)
		if len(ts) == 0 {
			continue
		}
		tj := " " + strings.Join(ts, " ") + " "
		if hj == tj || len(ts) >= 4 && strings.Contains(hj, tj) || len(hs) >= 4 && strings.Contains(tj, hj) {
			return tr, true
		}
	}
	return "", false
}

// Every hard line records its templates (message and wrapper), every training line its
// own (message, prefixes, suffix, wrapper); no hard template repeats a training one.
func TestHardSharesNoTemplateWithTraining(t *testing.T) {
	d := mustBuild(t)
	seen := map[string]bool{}
	var train []string
	for _, a := range trainingAlerts(d) {
		if len(a.tmpls) < 3 {
			t.Fatalf("training alert without its templates: %+v", a)
		}
		for _, tm := range a.tmpls {
			if !seen[tm] {
				seen[tm] = true
				train = append(train, tm)
			}
		}
	}
	if len(train) < 100 {
		t.Fatalf("only %d training templates recorded", len(train))
	}
	for _, a := range d.alerts["hard"] {
		for _, h := range a.tmpls {
			if seen[h] {
				t.Errorf("hard template %q is a training template", h)
			} else if tr, ok := sharedTemplate(h, train); ok {
				t.Errorf("hard template %q repeats training template %q", h, tr)
			}
		}
	}
	// The check itself catches a copied template, also with its slots renamed.
	for _, h := range []string{alertClasses[0].clear[0], "主机 {H}：" + strings.ReplaceAll(alertClasses[4].hard[0], "{S}", "{X}")} {
		if _, ok := sharedTemplate(h, train); !ok {
			t.Errorf("sharedTemplate missed the training template in %q", h)
		}
	}
}

// hardNgram is the n of the independent text check: no hard line shares a run of this
// many units (Chinese characters, words, numbers) with a training alert or a corpus
// line. Domain terms such as 数据库连接数 are 6 units and may be shared.
const hardNgram = 7

// ngramHit returns the first n-gram of text that occurs in set.
func ngramHit(text string, set map[string]bool) (string, bool) {
	for _, g := range ngrams(textUnits(text), hardNgram) {
		if set[g] {
			return g, true
		}
	}
	return "", false
}

func TestHardSharesNoNgramWithTraining(t *testing.T) {
	d := mustBuild(t)
	set := map[string]bool{}
	var sources []string
	for _, a := range trainingAlerts(d) {
		sources = append(sources, a.text)
	}
	sources = append(sources, strings.Split(string(d.files["corpus/train.txt"]), "\n")...)
	sources = append(sources, strings.Split(string(d.files["corpus/val.txt"]), "\n")...)
	for _, s := range sources {
		for _, g := range ngrams(textUnits(s), hardNgram) {
			set[g] = true
		}
	}
	for _, a := range d.alerts["hard"] {
		if g, ok := ngramHit(a.text, set); ok {
			t.Errorf("hard line shares %q with the training text: %s", g, a.text)
		}
	}
	// A training alert moved to another host is caught.
	tr := d.alerts["train"][0].text
	if _, ok := ngramHit("巡检发现 ams-pg-01："+tr, set); !ok {
		t.Errorf("the n-gram check missed a copied training line: %s", tr)
	}
}

// No host, service, mount, domain, key or file name of the hard set occurs in the
// training alerts or the corpus, and no training name occurs in a hard line.
func TestHardNamesNeverInTraining(t *testing.T) {
	d := mustBuild(t)
	var train strings.Builder
	for _, a := range trainingAlerts(d) {
		train.WriteString(a.text + "\n")
	}
	train.Write(d.files["corpus/train.txt"])
	train.Write(d.files["corpus/val.txt"])
	all := train.String()
	var names []string
	for _, h := range hardHosts {
		names = append(names, h+"-")
	}
	for _, group := range [][]string{hardServices, hardMounts, hardDomains, hardKeys, hardFiles} {
		names = append(names, group...)
	}
	for _, n := range names {
		if strings.Contains(all, n) {
			t.Errorf("hard-set name %q occurs in the training text", n)
		}
	}
	var trainNames []string
	for _, group := range [][]string{alertServices, alertDomains, alertKeys, alertFiles, services, domains} {
		trainNames = append(trainNames, group...)
	}
	hostRE := regexp.MustCompile(`\b(` + strings.Join(append(append([]string{}, alertHostPrefix...), rolePrefixes()...), "|") + `)-\d`)
	for _, a := range d.alerts["hard"] {
		for _, n := range trainNames {
			if strings.Contains(a.text, n) {
				t.Errorf("training name %q in hard line %s", n, a.text)
			}
		}
		if m := hostRE.FindString(a.text); m != "" {
			t.Errorf("training host %q in hard line %s", m, a.text)
		}
		for _, m := range alertMounts {
			if regexp.MustCompile(regexp.QuoteMeta(m) + `\b`).MatchString(a.text) {
				t.Errorf("training mount %q in hard line %s", m, a.text)
			}
		}
	}
}

func rolePrefixes() []string {
	var out []string
	for _, r := range hostRoles {
		out = append(out, r.prefix)
	}
	return out
}

// A character-level model sees every character of the hard set in its vocabulary: each
// occurs in the training corpus.
func TestHardCharactersInCorpus(t *testing.T) {
	d := mustBuild(t)
	var texts []string
	for _, a := range d.alerts["hard"] {
		texts = append(texts, a.text)
	}
	checkCorpusChars(t, d, "hard alerts", texts)
}

// checkCorpusChars reports every character of texts that corpus/train.txt lacks: the
// shipped tiny models' character vocabulary is the corpus's.
func checkCorpusChars(t *testing.T, d *dataset, what string, texts []string) {
	t.Helper()
	chars := map[rune]bool{}
	for _, r := range string(d.files["corpus/train.txt"]) {
		chars[r] = true
	}
	for _, s := range texts {
		for _, r := range s {
			if !chars[r] {
				t.Errorf("%s: character %q is not in corpus/train.txt: %s", what, r, s)
				break
			}
		}
	}
}

// The label rules, checked on the templates: a two-symptom line says which symptom is
// the cause, a near miss says why the neighbouring class is not it.
func TestHardLabelRules(t *testing.T) {
	causal := []string{"导致", "因为", "引起", "根因", "随后", "结果", "连带", "跟着", "后，"}
	contrast := []string{"其实", "不是", "但", "却", "只有", "正常", "没有", "本身", "没改过", "问题是", "问题出在", "瓶颈是"}
	for _, c := range hardClasses {
		for ki, k := range hardKinds {
			var markers []string
			switch k.name {
			case "two_symptoms":
				markers = causal
			case "near_miss":
				markers = contrast
			default:
				continue
			}
			for _, tm := range c.kinds[ki] {
				found := false
				for _, m := range markers {
					found = found || strings.Contains(tm, m)
				}
				if !found {
					t.Errorf("%s/%s template %q has none of %v", c.label, k.name, tm, markers)
				}
			}
		}
	}
}

func TestTextUnits(t *testing.T) {
	got := fmt.Sprint(textUnits("DB conn 580/600，到 172.16.3.4 丢包 12.5%"))
	if want := "[db conn 0 0 到 0 丢 包 0]"; got != want {
		t.Errorf("textUnits = %s, want %s", got, want)
	}
	if got := fmt.Sprint(ngrams([]string{"a", "b", "c"}, 2)); got != "[a b b c]" {
		t.Errorf("ngrams = %s", got)
	}
}
