// Package qmodel quantizes whole checkpoints of divellm's models (package llm) and runs a
// GPT-2 decoder in plain Go on the quant/gemm kernels, so week 3 can compare fp32, int8 and
// int4 on a real forward pass: logits, perplexity and decode tokens/s.
//
// # The decoder
//
// [GPT] is GPT-2 (pre-LN blocks, learned positions, GELU-tanh MLP, LM head tied to the token
// embedding) written as loops over float32 slices. Its four linear layers per block
// (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj) and the LM head run in the chosen
// [Format]; embeddings, LayerNorm, softmax and GELU stay in float32. Axis legend:
// t new tokens, m model width, h heads, d head width, f feed-forward width, v vocabulary.
//
//	x = wte[ids] + wpe[pos]                               // [t, m]
//	for each block:
//	    q, k, v = split(c_attn(LN₁(x)))                   // [t, m] each, cached k, v: [T, m]
//	    x += c_proj(softmax(q·kᵀ/√d + causal)·v)          // per head
//	    x += mlp.c_proj(gelu(c_fc(LN₂(x))))               // [t, f] → [t, m]
//	logits = LN_f(x)·wteᵀ                                 // [t, v]
//
// A [Session] keeps the keys and values of every past position (the KV cache), so decoding
// one more token costs one row through each matrix instead of the whole prefix.
//
// # Batches of sequences
//
// [GPT.ForwardBatch] runs the new tokens of several sessions in one pass: their rows are
// stacked, x = [rows of session 1; rows of session 2; …], so every linear layer is one
// matrix product with M = Σ tᵢ rows and reads its weights once for all sequences, while
// attention runs per session against that session's own cache. This is the step a serving
// engine repeats (continuous batching, package serve): one decode row per running sequence,
// plus the prompt rows of sequences that just joined. [Session.Forward] is the same block
// loop with one session. [Session.Truncate] rewinds a session to a prefix so that a new
// sequence starting with the same tokens reuses their cached keys and values.
//
// # Checkpoints
//
// [QuantizeDir] reads a Hugging Face checkpoint directory (config.json + model.safetensors),
// quantizes every linear weight with round-to-nearest or GPTQ and writes a new directory
// whose model.safetensors uses quant's layout (see quant.Save). GPT-2's Conv1D weights
// ([in, out]) are stored transposed, [out, in], like every nn.Linear. [LoadGPT] reads either
// kind of directory.
package qmodel
