// Package week1 holds the helpers, data and exercise checks of the week-1 notebook
// (notebooks/week1-transformer.ipynb): Transformer and pretraining.
//
// The notebook's cells stay short; everything they compute lives here, tested:
//
//   - [Tasks], [History]: NLP on one page (理解 / 生成 / 推理; 规则 → 统计 → Transformer);
//   - [CompareTokenizers], [TrainBPEDemo], [WordPieceZH]: char vs byte-level BPE vs WordPiece;
//   - [EmbeddingMap] (with [viz.PCA]): token embeddings projected to 2-D by principal components;
//   - [StepThrough], [StepThroughModel], [FindHead]: one attention head computed step by step,
//     softmax(QKᵀ/√d)·V, on 我昨天去银行钓鱼;
//   - [AttentionFor], [HeadReport]: every layer × head of a model and what each head looks at;
//   - [Masks], [MaskTable]: encoder (BERT), decoder (GPT) and encoder-decoder (T5, BART) masks;
//   - [FillMask], [NSPExamples], [ProbeAccuracy], [NewPretrainRun]: the two pretraining
//     objectives, masked LM and causal LM, with a live training run;
//   - [PipelineTimings]: load → tokenize → forward → decode, each stage timed;
//   - [CheckSoftmax], [CheckAttentionHead], [CheckCausalMask]: exercises checked against the
//     reference in llm/attention, with feedback in Chinese and English.
//
// Scaled dot-product attention, the formula the week is about:
//
//	Attention(Q, K, V) = softmax(Q·Kᵀ / √d_k + M) · V
//
// where M is 0 where a query may look at a key and −∞ where the mask forbids it.
package week1
