package data

import (
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidate(t *testing.T) {
	if err := Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestCorpusSizeAndSplit(t *testing.T) {
	train, val := Corpus()
	nt, nv := utf8.RuneCountInString(train), utf8.RuneCountInString(val)
	if nt+nv < 150_000 {
		t.Errorf("corpus has %d runes, want ≥ 150000", nt+nv)
	}
	if frac := float64(nv) / float64(nt+nv); frac < 0.03 || frac > 0.08 {
		t.Errorf("val holds %.1f%% of the corpus, want ≈5%%", 100*frac)
	}
	st := Stats()
	if st.TrainRunes != nt || st.ValRunes != nv {
		t.Errorf("Stats runes = %d/%d, want %d/%d", st.TrainRunes, st.ValRunes, nt, nv)
	}
	tl, vl := CorpusLines()
	if st.TrainLines != len(tl) || st.ValLines != len(vl) {
		t.Errorf("Stats lines = %d/%d, CorpusLines has %d/%d", st.TrainLines, st.ValLines, len(tl), len(vl))
	}
	if st.UniqueChars < 1000 || st.UniqueChars > 3500 {
		t.Errorf("corpus uses %d distinct characters, want a moderate vocabulary (1000–3500)", st.UniqueChars)
	}
	seen := map[rune]bool{}
	for _, r := range train + val {
		if r != '\n' {
			seen[r] = true
		}
	}
	if len(seen) != st.UniqueChars {
		t.Errorf("Stats.UniqueChars = %d, counted %d", st.UniqueChars, len(seen))
	}
}

func TestCorpusNoDuplicateLines(t *testing.T) {
	tl, vl := CorpusLines()
	seen := map[string]string{}
	for _, side := range []struct {
		name  string
		lines []string
	}{{"train", tl}, {"val", vl}} {
		for _, l := range side.lines {
			if prev, dup := seen[l]; dup {
				t.Fatalf("line appears in %s and again in %s: %q", prev, side.name, l)
			}
			seen[l] = side.name
		}
	}
}

// The corpus must mix its genres: explanatory text, alert logs, runbooks, incident
// reviews, handovers and everyday sentences, in both splits.
func TestCorpusGenres(t *testing.T) {
	tl, _ := CorpusLines()
	count := func(pred func(string) bool) int {
		n := 0
		for _, l := range tl {
			if pred(l) {
				n++
			}
		}
		return n
	}
	checks := []struct {
		name string
		min  int
		pred func(string) bool
	}{
		{"alert log lines", 1000, func(l string) bool { return strings.HasPrefix(l, "2026-") && strings.Contains(l, "] ") }},
		{"runbook steps", 50, func(l string) bool { return strings.HasPrefix(l, "处理步骤：1. ") }},
		{"incident reviews", 50, func(l string) bool { return strings.HasPrefix(l, "故障复盘：") }},
		{"handovers", 50, func(l string) bool { return strings.HasPrefix(l, "值班交接") }},
		{"self-attention paragraphs", 5, func(l string) bool { return strings.Contains(l, "自注意力（self-attention）") }},
		{"bank errands", 30, func(l string) bool { return strings.Contains(l, "去银行") }},
	}
	for _, c := range checks {
		if n := count(c.pred); n < c.min {
			t.Errorf("%s: %d lines, want ≥ %d", c.name, n, c.min)
		}
	}
}

func TestProbes(t *testing.T) {
	ps := MLMProbes()
	if len(ps) < 60 {
		t.Fatalf("%d probes, want ≥ 60", len(ps))
	}
	train, val := Corpus()
	texts := map[string]bool{}
	for _, p := range ps {
		if strings.Count(p.Text, MaskToken) != 1 {
			t.Errorf("probe %q: want exactly one %s", p.Text, MaskToken)
		}
		if texts[p.Text] {
			t.Errorf("duplicate probe %q", p.Text)
		}
		texts[p.Text] = true
		for _, a := range p.Answers {
			if utf8.RuneCountInString(a) != 1 {
				t.Errorf("probe %q: answer %q is not one character", p.Text, a)
			}
			filled := p.Filled(a)
			if strings.Contains(train, filled) || strings.Contains(val, filled) {
				t.Errorf("probe %q: the filled sentence %q appears verbatim in the corpus", p.Text, filled)
			}
		}
	}
}

// Every probe must be answerable from the corpus: some answer, together with the
// character right before or after the mask, occurs in the training text.
func TestProbesAnswerableFromCorpus(t *testing.T) {
	train, _ := Corpus()
	for _, p := range MLMProbes() {
		left, right, _ := strings.Cut(p.Text, MaskToken)
		lr, rr := []rune(left), []rune(right)
		ok := false
		for _, a := range p.Answers {
			if len(lr) > 0 && strings.Contains(train, string(lr[len(lr)-1])+a) {
				ok = true
			}
			if len(rr) > 0 && strings.Contains(train, a+string(rr[0])) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("probe %q: no answer %v appears next to the mask's neighbours in train.txt", p.Text, p.Answers)
		}
	}
}

func TestParseProbesRejectsMalformed(t *testing.T) {
	good := "我今天去[MASK]行取钱\t银\t日常\n"
	if ps, err := ParseProbes(strings.NewReader(good)); err != nil || len(ps) != 1 || ps[0].Answers[0] != "银" {
		t.Fatalf("ParseProbes(good) = %v, %v", ps, err)
	}
	for _, bad := range []string{
		"",
		"我今天去银行取钱\t银\t没有掩码\n",
		"[MASK]今天去[MASK]行取钱\t银\t两个掩码\n",
		"我今天去[MASK]行取钱\t银行\t答案两个字\n",
		"我今天去[MASK]行取钱\tx\t答案不是汉字\n",
		"我今天去[MASK]行取钱\t银\n",
		"我今天去[MASK]行取钱\t银,\t空答案\n",
	} {
		if _, err := ParseProbes(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseProbes(%q) accepted a malformed line", bad)
		}
	}
}

func TestAlertLabels(t *testing.T) {
	want := []string{"disk_full", "oom", "cpu_high", "network", "db_conn", "cert_expired", "config_error", "service_down"}
	if got := AlertLabels(); !slices.Equal(got, want) {
		t.Fatalf("AlertLabels() = %v, want %v", got, want)
	}
	if zh, ok := AlertLabelZH("disk_full"); !ok || zh != "磁盘满" {
		t.Errorf("AlertLabelZH(disk_full) = %q, %v", zh, ok)
	}
	if _, ok := AlertLabelZH("nope"); ok {
		t.Error("AlertLabelZH accepted an unknown label")
	}
	if i := AlertLabelIndex("service_down"); i != 7 {
		t.Errorf("AlertLabelIndex(service_down) = %d, want 7", i)
	}
}

func TestAlertsSizesAndSplits(t *testing.T) {
	total := 0
	where := map[string]string{}
	sizes := map[string]int{}
	for _, s := range Splits {
		as, err := Alerts(s)
		if err != nil {
			t.Fatal(err)
		}
		sizes[s] = len(as)
		total += len(as)
		per := map[string]int{}
		for _, a := range as {
			per[a.Label]++
			if prev, dup := where[a.Text]; dup {
				t.Errorf("alert text in %s and %s: %q", prev, s, a.Text)
			}
			where[a.Text] = s
		}
		for _, l := range AlertLabels() {
			if per[l]*len(AlertLabels()) != len(as) {
				t.Errorf("%s: %d examples of %s out of %d, want balanced classes", s, per[l], l, len(as))
			}
		}
	}
	if total < 2000 {
		t.Errorf("%d alert examples, want ≥ 2000", total)
	}
	if sizes["train"] != 8*sizes["val"] || sizes["val"] != sizes["test"] {
		t.Errorf("split sizes %v, want 80/10/10", sizes)
	}
	tl, vl := CorpusLines()
	for _, l := range append(tl, vl...) {
		if s, ok := where[l]; ok {
			t.Errorf("alert text from %s is also a corpus line: %q", s, l)
		}
	}
	if _, err := Alerts("dev"); err == nil {
		t.Error(`Alerts("dev") returned no error`)
	}
}

// A bag-of-characters Naive Bayes classifier trained on train must do well on test but
// not perfectly: the hard and vague examples are there on purpose. On the hard split,
// written from unseen templates, it must do much worse: that split measures more than
// template recall.
func TestAlertsNotTrivial(t *testing.T) {
	train, err := Alerts("train")
	if err != nil {
		t.Fatal(err)
	}
	nb := trainNaiveBayes(train)
	acc := map[string]float64{}
	for _, split := range []string{"test", HardSplit} {
		as, err := Alerts(split)
		if err != nil {
			t.Fatal(err)
		}
		correct := 0
		for _, a := range as {
			if nb.predict(a.Text) == a.Label {
				correct++
			}
		}
		acc[split] = float64(correct) / float64(len(as))
		t.Logf("bag-of-characters Naive Bayes %s accuracy: %.3f", split, acc[split])
	}
	if acc["test"] < 0.6 || acc["test"] > 0.96 {
		t.Errorf("bag-of-characters test accuracy %.3f, want between 0.60 and 0.96", acc["test"])
	}
	if acc[HardSplit] > acc["test"]-0.15 {
		t.Errorf("bag-of-characters hard accuracy %.3f, want at least 15 points below test (%.3f)", acc[HardSplit], acc["test"])
	}
}

// naiveBayes is a bag-of-characters multinomial Naive Bayes classifier (add-0.5 smoothing).
type naiveBayes struct {
	counts []map[rune]float64
	totals []float64
	vocab  int
}

func trainNaiveBayes(train []Alert) *naiveBayes {
	labels := AlertLabels()
	nb := &naiveBayes{counts: make([]map[rune]float64, len(labels)), totals: make([]float64, len(labels))}
	vocab := map[rune]bool{}
	for i := range nb.counts {
		nb.counts[i] = map[rune]float64{}
	}
	for _, a := range train {
		c := AlertLabelIndex(a.Label)
		for _, r := range a.Text {
			nb.counts[c][r]++
			nb.totals[c]++
			vocab[r] = true
		}
	}
	nb.vocab = len(vocab)
	return nb
}

func (nb *naiveBayes) predict(text string) string {
	best, bestScore := -1, 0.0
	for c := range nb.counts {
		score := 0.0
		for _, r := range text {
			score += logf((nb.counts[c][r] + 0.5) / (nb.totals[c] + 0.5*float64(nb.vocab)))
		}
		if best < 0 || score > bestScore {
			best, bestScore = c, score
		}
	}
	return AlertLabels()[best]
}

// The hard split: 40 lines per class spread over every kind, none equal to another
// split's text or a corpus line, English lines in English only.
func TestHardAlerts(t *testing.T) {
	hard, err := Alerts(HardSplit)
	if err != nil {
		t.Fatal(err)
	}
	if len(hard) < 320 {
		t.Fatalf("%d hard alerts, want ≥ 320", len(hard))
	}
	other := map[string]string{}
	for _, s := range Splits {
		as, err := Alerts(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			other[a.Text] = s
			if a.Kind != "" || a.Template != "" {
				t.Errorf("%s alert has kind %q, template %q", s, a.Kind, a.Template)
			}
		}
	}
	tl, vl := CorpusLines()
	for _, l := range append(tl, vl...) {
		other[l] = "corpus"
	}
	perClass := map[string]int{}
	perKind := map[string]int{}
	seen := map[string]bool{}
	for _, a := range hard {
		perClass[a.Label]++
		perKind[a.Label+" "+a.Kind]++
		if s, ok := other[a.Text]; ok {
			t.Errorf("hard alert also in %s: %s", s, a.Text)
		}
		if seen[a.Text] {
			t.Errorf("duplicate hard alert: %s", a.Text)
		}
		seen[a.Text] = true
		if !strings.HasPrefix(a.Template, a.Label+"/"+a.Kind+"/") {
			t.Errorf("template %q does not start with %s/%s/", a.Template, a.Label, a.Kind)
		}
		if a.Kind == "english" && strings.ContainsFunc(a.Text, func(r rune) bool { return r >= 0x80 }) {
			t.Errorf("english hard alert with non-ASCII text: %s", a.Text)
		}
	}
	for _, l := range AlertLabels() {
		if perClass[l] != 40 {
			t.Errorf("%s: %d hard alerts, want 40", l, perClass[l])
		}
		for _, k := range AlertKinds() {
			if perKind[l+" "+k] < 5 {
				t.Errorf("%s/%s: %d hard alerts, want ≥ 5", l, k, perKind[l+" "+k])
			}
		}
	}
	if _, err := ParseAlerts(strings.NewReader(`{"text":"x","label":"oom","label_zh":"内存不足","kind":"typo"}` + "\n")); err == nil {
		t.Error("ParseAlerts accepted an unknown kind")
	}
}

func TestParseAlertsRejectsMalformed(t *testing.T) {
	good := `{"text":"磁盘使用率 97%","label":"disk_full","label_zh":"磁盘满"}` + "\n"
	if as, err := ParseAlerts(strings.NewReader(good)); err != nil || len(as) != 1 || as[0].LabelZH != "磁盘满" {
		t.Fatalf("ParseAlerts(good) = %v, %v", as, err)
	}
	for _, bad := range []string{
		"",
		`{"text":"磁盘使用率 97%","label":"disk_full"` + "\n",
		`{"text":"磁盘使用率 97%","label":"disk","label_zh":"磁盘满"}` + "\n",
		`{"text":"磁盘使用率 97%","label":"disk_full","label_zh":"内存不足"}` + "\n",
		`{"text":"  ","label":"disk_full","label_zh":"磁盘满"}` + "\n",
		`{"text":"磁盘使用率 97%","label":"disk_full","label_zh":"磁盘满","extra":1}` + "\n",
		`{"text":"a","label":"oom","label_zh":"内存不足"} {"text":"b"}` + "\n",
	} {
		if _, err := ParseAlerts(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseAlerts(%q) accepted a malformed line", bad)
		}
	}
}

func logf(x float64) float64 { return math.Log(x) }
