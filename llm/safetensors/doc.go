// Package safetensors reads and writes the Hugging Face safetensors format, the file format
// in which today's open models ship their weights (model.safetensors).
//
// A safetensors file has three parts:
//
//	[8 bytes]  N, the header length, an unsigned 64-bit little-endian integer
//	[N bytes]  the header: a UTF-8 JSON object, padded with spaces
//	[rest]     the byte buffer: every tensor's raw little-endian data, back to back
//
// The header maps each tensor name to its dtype, shape and byte range in the buffer, plus
// an optional "__metadata__" object of string → string:
//
//	{"__metadata__": {"format": "pt"},
//	 "bert.pooler.dense.weight": {"dtype": "F32", "shape": [32, 32], "data_offsets": [0, 4096]}}
//
// data_offsets are [begin, end) relative to the start of the buffer, so a tensor's size in
// bytes is end − begin = product(shape) × size(dtype). Unlike PyTorch's pickle files
// (pytorch_model.bin), a safetensors file holds no code: reading it cannot run anything,
// and since the layout is plain bytes a reader can memory-map the file and hand out
// tensors without copying. [Open] does exactly that; [ReadAll] copies for convenience.
//
// Every header is validated up front, as the reference (Rust) implementation does: known
// dtypes, non-negative dimensions, sizes that match the shapes, and byte ranges that tile
// the buffer exactly (no gaps, no overlaps, nothing past the end of the file).
//
// Half-precision values are widened to float32 by [Tensor.Float32s]:
//
//	F16  (IEEE binary16): 1 sign, 5 exponent (bias 15), 10 mantissa bits
//	BF16 (bfloat16):      1 sign, 8 exponent (bias 127), 7 mantissa bits — the top half of a float32
//
// [Write] lays tensors out as the reference implementation does (largest dtype first, then
// by name, so every tensor starts at a multiple of its element size) and replaces the
// target file atomically; [WriteDirAtomic] does the same for a whole checkpoint folder.
package safetensors
