package main

import (
	"strings"
	"unicode"
)

// textUnits splits a text into the units a near-duplicate check compares, the way a
// BERT basic tokenizer would: every Chinese character is a unit, every run of Latin
// letters is a lower-case word, every number (digits, with the dots of 10.2.3.4 or 0.5)
// becomes "0", and punctuation and spaces are dropped.
func textUnits(s string) []string {
	var out []string
	var word strings.Builder
	flush := func() {
		if word.Len() > 0 {
			out = append(out, word.String())
			word.Reset()
		}
	}
	digits := false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Han, r):
			flush()
			out = append(out, string(r))
			digits = false
		case r < 0x80 && unicode.IsLetter(r):
			digits = false
			word.WriteRune(unicode.ToLower(r))
		case unicode.IsDigit(r):
			flush()
			if !digits {
				out = append(out, "0")
			}
			digits = true
		case r == '.' && digits:
			// 10.2.3.4 and 0.5 stay one number
		default:
			flush()
			digits = false
		}
	}
	flush()
	return out
}

// ngrams returns the n-unit windows of units, each joined with a space.
func ngrams(units []string, n int) []string {
	var out []string
	for i := 0; i+n <= len(units); i++ {
		out = append(out, strings.Join(units[i:i+n], " "))
	}
	return out
}
