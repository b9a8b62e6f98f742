// Package tokenizer turns text into the integer ids a language model reads, and back.
//
// A model never sees characters: it sees ids from a fixed vocabulary. A tokenizer decides
// what one id stands for. There are three classic answers, all implemented here in pure Go
// and all behind one interface, [Tokenizer]:
//
// # Character level ([Char])
//
// One token per Unicode character: "今天天气" → 今 天 天 气. The vocabulary is just the set of
// characters in a corpus (a few thousand for Chinese), there is no training, and nothing
// is ever split oddly. The price is length: sequences are long, and the model must learn
// words from scratch. Good for a first small model and for Chinese, where a character
// already carries meaning. Spaces and newlines are tokens too, so text round-trips exactly.
//
// # Byte-level BPE ([BPE], GPT-2)
//
// Byte-pair encoding starts from the 256 possible bytes (so any text, in any language, even
// broken UTF-8, can be encoded: no unknown token) and learns merges from a corpus:
//
//	repeat: (a, b) = argmax over adjacent pairs of count(a, b);  add token ab;  replace a b by ab
//
// Frequent words become one token ("Ġthe", "今天"), rare words are spelled with smaller
// pieces. [TrainBPE] learns merges (ties go to the smallest pair of ids) and [BPE.Merges]
// shows them in order — the first merges of a Chinese corpus glue the bytes of common
// characters, later ones join characters into words. Encoding applies the merges in the
// order they were learned. Before merging, a pre-tokenizer cuts the text into pieces
// (GPT-2's regex: words with their leading space, numbers, punctuation) and merges never
// cross pieces; [PreGPT2CJK] also separates Chinese from Latin letters ("Go语言" → "Go",
// "语言"). Vocabulary files use GPT-2's bytes-to-unicode trick: a space is written "Ġ", a
// newline "Ċ", so vocab.json and merges.txt are those of Hugging Face and real GPT-2
// checkpoints load with [LoadBPE].
//
// # WordPiece ([WordPiece], BERT)
//
// BERT first splits text into words (whitespace, punctuation, every Chinese character on
// its own; optional lower-casing and accent stripping), then cuts each word greedily into
// the longest pieces of its vocab.txt, marking pieces inside a word with "##":
//
//	"Unaffable" → un ##aff ##able;   "我今天去[MASK]超市" → 我 今 天 去 [MASK] 超 市
//
// A word that cannot be cut becomes [UNK]. This follows Hugging Face's BertTokenizer
// exactly (tested against a transcription of it in testdata/make_reference.py).
//
// # Tokens, offsets and special tokens
//
// [Tokenizer.Encode] returns [Token]s: the id, the vocabulary string and the byte span
// [Start, End) of the input it covers, so a lesson can show which text each token came
// from (also after lower-casing). Special tokens mark structure: [CLS] … [SEP] around BERT
// inputs ([EncodeSingle], [EncodePair]), [MASK] for masked-language-model training,
// [PAD] for batching, <|endoftext|> between GPT documents. Special tokens added by
// EncodeSingle/EncodePair cover no text: Start = End = -1. Special tokens written in the
// text ("[MASK]") are recognised as one token and keep their span.
//
// # Files
//
// [Load] reads a checkpoint directory in Hugging Face's formats: vocab.txt (+
// tokenizer_config.json) for WordPiece and [Char], vocab.json + merges.txt for BPE, or a
// tokenizer.json. Save writes the same formats, each file atomically.
package tokenizer
