// Package calib looks inside a model to quantize it: a plain float32 Go copy of a GPT-2 or
// BERT model's blocks ([Runner], built on llm.Block) shows the input of every linear layer
// (calibration data for GPTQ and AWQ, activation outliers) and every attention map, and
// [Quantize] rounds all of a model's block linear layers with RTN, GPTQ, AWQ or NF4,
// returning a fake-quantized copy (weights replaced by their dequantized values) that the
// usual float32 code runs, with each layer's weight and output error.
//
// Fake quantization computes the same function as the integer kernels of quant/gemm
// (weight-only formats) up to float32 rounding, so it measures accuracy and perplexity;
// speed and memory are the kernels' (llm/quant/qmodel).
package calib
