package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fill-mask probes for a tiny character-level BERT. Each probe masks one Chinese
// character whose answer the corpus teaches through the same structure in other
// sentences; the exact filled-in sentence never appears in the corpus (buildCorpus drops
// any line that contains it).

type probe struct {
	text    string   // contains exactly one [MASK]
	answers []string // acceptable single characters
	note    string
}

const maskToken = "[MASK]"

// probeTable holds the probes of tables/probes.txt: text || answers || note.
var probeTable []probe

func mlmProbes() []probe { return probeTable }

// checkProbes enforces the probe format: one [MASK], single Han-character answers.
func checkProbes(ps []probe) error {
	seen := map[string]bool{}
	for _, p := range ps {
		if strings.Count(p.text, maskToken) != 1 {
			return fmt.Errorf("probe %q: want exactly one %s", p.text, maskToken)
		}
		if seen[p.text] {
			return fmt.Errorf("probe %q: duplicate", p.text)
		}
		seen[p.text] = true
		for _, a := range p.answers {
			r, n := utf8.DecodeRuneInString(a)
			if n != len(a) || !unicode.Is(unicode.Han, r) {
				return fmt.Errorf("probe %q: answer %q is not one Chinese character", p.text, a)
			}
		}
	}
	return nil
}

// filledProbes returns every probe sentence with each acceptable answer filled in.
func filledProbes(ps []probe) []string {
	var out []string
	for _, p := range ps {
		for _, a := range p.answers {
			out = append(out, strings.Replace(p.text, maskToken, a, 1))
		}
	}
	return out
}

func probesTSV(ps []probe) []byte {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", p.text, strings.Join(p.answers, ","), p.note)
	}
	return []byte(b.String())
}
