// Package attention implements scaled dot-product and multi-head attention twice: as GoMLX
// graph functions (used by the models, differentiable) and as a small plain-Go float
// reference (used by tests and by the week-1 step-through). Both return the attention
// probabilities, not only the output, so lessons can draw them.
//
// Axis legend used in comments and einsum strings:
//
//	b batch, h heads, q query positions, k key positions, d features per head, m model width (h·d)
//
// Scaled dot-product attention (Vaswani et al., 2017):
//
//	scores = Q·Kᵀ / √d          [b, h, q, k]
//	probs  = softmax_k(scores)  masked keys get probability 0
//	out    = probs · V          [b, h, q, d]
//
// A mask says which keys a query may look at. The causal mask of a decoder (GPT) lets
// query i see keys j ≤ i; the padding mask of a batch hides [PAD] keys; an encoder (BERT)
// uses only the padding mask, so every token sees the whole sentence.
package attention
