// Package week2 holds the helpers of the week-2 notebook's classification half
// (notebooks/week2-finetune.ipynb, generated from notebooks/src/week2-finetune.txt):
// fine-tuning the pretrained bert-tiny-zh into a classifier of alert logs by root cause.
//
//   - [ReadExamples], [AlertExamples]: labelled texts (JSONL {"text", "label"}, the format
//     of lessons/data/alerts);
//   - [FineTune]: a [CLS]-pooled classifier head trained fully, with frozen lower blocks,
//     or with LoRA adapters (W + (α/r)·B·A); [Run.Export] saves it in Hugging Face layout
//     (and the PEFT adapter files for LoRA);
//   - [Score], [FromConfusion]: accuracy, macro-F1, per-class precision and recall, the
//     confusion matrix.
//
// The metrics, with C[i][j] the examples of true class i predicted as j:
//
//	precision_k = C[k][k] / Σ_i C[i][k]    recall_k = C[k][k] / Σ_j C[k][j]
//	F1_k = 2·P_k·R_k / (P_k + R_k)          macro-F1 = (1/K) Σ_k F1_k
package week2
