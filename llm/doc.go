// Package llm is divellm's Transformer: one [Config], a BERT-style encoder and a
// GPT-2-style decoder written as GoMLX graphs, with Hugging Face parameter names so real
// checkpoints load and ours load in transformers.
//
// A block of the decoder (pre-LN, as GPT-2):
//
//	h = h + Attention(LN₁(h))            Attention = softmax(QKᵀ/√d + causal mask)·V, per head
//	h = h + W₂·GELU(W₁·LN₂(h) + b₁) + b₂
//
// The encoder (BERT) puts the LayerNorm after each residual sum (post-LN) and lets every
// token see every other one (only [PAD] keys are masked).
//
// Weights live in plain Go ([Params], float32) and are fed to compiled graphs, so the
// same model can be saved ([Model.Save], atomic), loaded ([Load]), trained
// ([Model.Train]: causal-LM or MLM loss, AdamW with warm-up + cosine, gradient clipping,
// resume), run ([Model.Forward] returns logits, hidden states and attention
// probabilities), decoded with a KV cache ([Model.Generate]) or asked to fill [MASK]
// ([Model.FillMask]). Every exported function returns errors; GoMLX's graph-building
// panics are caught at this package's edge.
package llm
