// Package week3 holds the quantization half of week 3's notebook
// (notebooks/week3-quantization.ipynb): the quantization maths exercises and their
// checkers, the per-layer error and perplexity study of gpt-tiny-zh (RTN, GPTQ, AWQ), the
// alert classifier before and after quantization, activation outliers with SmoothQuant and
// LLM.int8(), latency of the gemm kernels and of decoding, and QLoRA on an NF4 base.
//
// GoNB runs every cell as a fresh program, so the expensive results (GPTQ, perplexities,
// fine-tuning runs) are computed once and cached as JSON under .cache/week3/ in the
// checkout, keyed by the model's weights and the parameters; a warm cell only reads them.
// Timings are measured live in the cells. The inference-pipeline and question-answering
// half of the notebook lives in lessons/week3/qa.
package week3
