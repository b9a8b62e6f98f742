// Package week1 holds the helpers, data and exercise checks of the week-1 notebook
// (notebooks/week1-transformer.ipynb, generated from notebooks/src/week1-transformer.txt):
// Transformer and pretraining. Everything a cell computes lives here or in
// lessons/week1/models, tested; a cell calls, prints and draws.
//
// This package runs no model. It imports no GoMLX backend, so a cell that imports only it
// builds in about 0.3 s of CPU instead of about 0.4 s (GoNB builds every cell into a new
// program, and linking the backend is most of the difference). The half that runs the
// shipped models is lessons/week1/models; it returns this package's types.
//
//   - [TaskRows], [HistoryRows]: NLP on one page (理解 / 生成 / 推理; 规则 → 统计 → Transformer);
//   - [CompareTokenizers], [BPEZHRun], [TrainBPEDemo], [WordMerges], [CrossWordMerges],
//     [WordPieceZH]: char vs byte-level BPE vs WordPiece; BPE merges by frequency, so it
//     learns words (今天) and pieces that cross a word boundary (超市买). The BPE is trained
//     once and kept under [CacheDir], keyed by a hash of the corpus and its settings;
//   - [StepThrough]: one attention head computed step by step on random weights,
//     softmax(QKᵀ/√d)·V, on 我昨天去银行钓鱼 ([StorySentence], which is in the corpus);
//   - [PermutationTest], [PositionalEncoding], [NeighbourSimilarity]: attention ignores
//     order until positions are added; the sinusoidal encoding
//     PE(pos, 2i) = sin(pos/10000^(2i/d)), PE(pos, 2i+1) = cos(pos/10000^(2i/d));
//   - [HeadReport]: what each head looks at, against a uniform baseline;
//   - [SenseTests], [SenseTable], [SenseVerdict]: does a word's vector follow its meaning
//     (苹果, 打) or only its neighbours? Held-out sentences, cross-sense pairs and controls;
//   - [Masks], [MaskTable]: encoder, decoder and prefix-LM masks, and what an
//     encoder-decoder adds (two stacks, cross-attention);
//   - [NSPExamples], [ProbeWindow], [ProbeResult]: NSP pairs; probes scored separately for
//     recall (the answer's five-character window is in the corpus) and the rest;
//   - [Sampling]: greedy, temperature, top-k and top-p on one next-token distribution;
//   - [FuncSource], [BlockSource]: the GoMLX code of llm's Transformer block, read from its
//     source file with go/parser when the cell runs;
//   - [FindInCorpus], [CorpusTable]: whether a sentence is in the training text;
//   - exercises, checked against independent references with diagnoses of the usual
//     mistakes, returning lessons/exercise.Result ("not done yet" for a stub):
//     [CheckBPEMerge], [CheckSoftmax], [CheckAttentionHead], [CheckPositionalEncoding],
//     [RevealPattern] (predict, then reveal), [CheckCausalMask], [CheckMLMMasking].
//
// Scaled dot-product attention, the formula the week is about:
//
//	Attention(Q, K, V) = softmax(Q·Kᵀ / √d_k + M) · V
//
// where M is 0 where a query may look at a key and −∞ where the mask forbids it.
package week1
