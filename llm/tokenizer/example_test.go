package tokenizer_test

import (
	"fmt"
	"strings"

	"github.com/divellm/divellm/llm/tokenizer"
)

// The first merges BPE learns: frequent pairs of bytes, then of tokens.
func ExampleTrainBPE() {
	bpe, err := tokenizer.TrainBPE("low lower lowest low low", 256+4+1, tokenizer.BPEOptions{})
	if err != nil {
		panic(err)
	}
	for _, m := range bpe.Merges() {
		fmt.Printf("%q + %q → %q (seen %d times)\n", bpe.TokenBytes(m.Pair[0]), bpe.TokenBytes(m.Pair[1]), m.Text, m.Count)
	}
	fmt.Println(spans(bpe.Encode("lowest")))
	// Output:
	// "l" + "o" → "lo" (seen 5 times)
	// "lo" + "w" → "low" (seen 5 times)
	// " " + "low" → " low" (seen 4 times)
	// " low" + "e" → " lowe" (seen 2 times)
	// low [0,3) e [3,4) s [4,5) t [5,6)
}

// WordPiece: BERT's greedy longest-match with "##" continuation pieces.
func ExampleWordPiece() {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "我", "去", "超", "市"}
	wp, err := tokenizer.NewWordPiece(vocab, tokenizer.DefaultWordPieceOptions())
	if err != nil {
		panic(err)
	}
	ids, toks := tokenizer.EncodeSingle(wp, "Unaffable 我去[MASK]超市", 0)
	fmt.Println(ids)
	fmt.Println(spans(toks))
	fmt.Println(wp.Decode(ids))
	// Output:
	// [2 5 6 7 8 9 4 10 11 3]
	// [CLS] [-1,-1) un [0,2) ##aff [2,5) ##able [5,9) 我 [10,13) 去 [13,16) [MASK] [16,22) 超 [22,25) 市 [25,28) [SEP] [-1,-1)
	// [CLS] unaffable 我 去 [MASK] 超 市 [SEP]
}

// spans formats tokens as "text [start,end)".
func spans(toks []tokenizer.Token) string {
	var parts []string
	for _, t := range toks {
		parts = append(parts, fmt.Sprintf("%s [%d,%d)", t.Text, t.Start, t.End))
	}
	return strings.Join(parts, " ")
}
