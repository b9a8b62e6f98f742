package week2

import (
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

// prefixSeps end an alert's metadata prefix (time, host, service, source) in the
// training alerts' formats: "…pay-core: 内容", "【P1 告警】内容", "[夜莺] svc | 内容",
// "… 内容：…".
var prefixSeps = []string{" | ", "】", "内容：", ": ", "："}

// clauseSep splits an alert into clauses.
const clauseSep = "，"

// Augment rewrites a training alert without changing its cause, so that the classifier
// leans on the words of the cause rather than on a template: with probability ½ the
// metadata prefix is dropped (up to the first separator in the first half of the text),
// and with probability ½ the clauses (split at "，") are shuffled. It uses nothing of the
// hard split: only the structure the training alerts share.
func Augment(text string, r *rand.Rand) string {
	if r.Float64() < 0.5 {
		half := len(text) / 2
		for _, sep := range prefixSeps {
			if i := strings.Index(text, sep); i > 0 && i < half {
				if rest := strings.TrimSpace(text[i+len(sep):]); utf8.RuneCountInString(rest) >= 4 {
					text = rest
				}
				break
			}
		}
	}
	if r.Float64() < 0.5 {
		parts := strings.Split(text, clauseSep)
		if len(parts) > 1 {
			r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
			text = strings.Join(parts, clauseSep)
		}
	}
	return text
}
