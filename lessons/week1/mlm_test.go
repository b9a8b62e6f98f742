package week1

import (
	"slices"
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons/data"
)

func TestNSPExamples(t *testing.T) {
	pairs, err := NSPExamples(CharZH(), 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	train, _ := data.CorpusLines()
	for i, p := range pairs {
		if p.IsNext != (i%2 == 0) {
			t.Errorf("pair %d label %s", i, p.Label())
		}
		together := false
		for _, l := range train {
			if a := strings.Index(l, p.A); a >= 0 && strings.HasPrefix(strings.TrimLeft(l[a+len(p.A):], " "), p.B) {
				together = true
				break
			}
		}
		if together != p.IsNext {
			t.Errorf("pair %d (%s): A=%q B=%q directly follow each other in the corpus: %v", i, p.Label(), p.A, p.B, together)
		}
		na := len([]rune(p.A))
		if p.Tokens[0] != "[CLS]" || p.Tokens[na+1] != "[SEP]" || p.Tokens[len(p.Tokens)-1] != "[SEP]" {
			t.Errorf("tokens %v", p.Tokens)
		}
		if zeros := len(p.TypeIDs) - slices.Index(p.TypeIDs, 1); slices.Index(p.TypeIDs, 1) != na+2 || zeros != len([]rune(p.B))+1 {
			t.Errorf("type ids %v", p.TypeIDs)
		}
	}
}
