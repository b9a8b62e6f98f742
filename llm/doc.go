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
// # One of each
//
//   - The architecture (model.go): one table of Hugging Face module names per architecture
//     ([Config.ModelNames], [Config.LayerNames], [Config.Linears]) drives the parameter
//     shapes, checkpoint loading and every forward pass; config.json keys come from one
//     table too (config.go). [Block] is the only definition of a Transformer block: the
//     graph forward, the KV-cache decoder and the plain-Go quantized decoder
//     (llm/quant/qmodel) run it through their [BlockOps].
//   - The weights ([Weights]) have one owner: backend tensors, loaded from the mapped
//     safetensors file with one copy, read by every graph, updated in place by training,
//     streamed to disk by [Model.Save]. Plain-Go float32 copies exist only on request
//     ([Weights.Float32]).
//   - Training ([Trainer], optim.go) compiles the step once and keeps AdamW's state on the
//     backend; every [Objective] (causal LM, masked LM, classification, span QA, SFT,
//     DPO) and parameter subset (frozen layers, LoRA adapters) plugs into it.
//   - Tasks (fill-mask, classification, QA, generation, features) live in llm/pipeline;
//     softmax, top-k and sampling in llm/sample.
//
// The model runs ([Model.Forward] returns logits, hidden states and attention
// probabilities as views of the backend's buffers), generates with a KV cache
// ([Model.Generate]), trains ([Model.NewTrainer], [Model.Train]), evaluates
// ([Model.Evaluate], [Model.EvaluateBatches]), adapts ([Model.AddLoRA],
// [Model.MergeLoRA], [Model.AddClassifier]) and saves atomically ([Model.Save],
// [Model.SaveAdapter]). Every exported function returns errors; GoMLX's graph-building
// panics are caught at this package's edge.
package llm
