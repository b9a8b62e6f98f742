// Package week2 holds the helpers of the week-2 notebook's classification half
// (notebooks/week2-finetune.ipynb, generated from notebooks/src/week2-finetune.txt):
// fine-tuning the pretrained bert-tiny-zh into a classifier of alert logs by root cause.
// Everything a cell computes lives here, tested; a cell calls, prints and draws.
//
//   - [ReadExamples], [AlertExamples], [Subsample], [LabelOrder]: labelled texts (JSONL
//     {"text", "label"}, the format of lessons/data/alerts);
//   - [FineTune]: a [CLS]-pooled classifier head trained fully, with frozen lower blocks,
//     or with LoRA adapters (W + (α/r)·B·A); batches grouped by length; [Run.Export]
//     saves it in Hugging Face layout (and PEFT's adapter files for LoRA). divellm finetune
//     --task classify is this function;
//   - [Score], [FromConfusion]: accuracy, macro-F1, per-class precision and recall, the
//     confusion matrix;
//   - [Recipe], [Train], [LoadTrained], [LoadUnmerged]: the notebook's runs (full,
//     LoRA, learning-curve points), trained once and cached under [CacheDir] keyed by the
//     recipe, the base weights and the data (GoNB runs every cell as a new program); the
//     full recipe is the shipped models/bert-tiny-zh-alerts and loads from it;
//   - views: [BalanceTable], [ExampleTable], [TokenLengths], [HardKindTable],
//     [LearningCurves], [CurveChart], [CurveVerdict], [TrainLive], [EvalChart],
//     [KindAccuracy], [Misclassified], [LoRAShapeTable], [CompareTable], [MergeCheck],
//     [CompareAttention], [ShiftTable];
//   - exercises, checked against independent references with hints for the usual
//     mistakes: [CheckMacroF1], [CheckLoRAForward].
//
// The metrics, with C[i][j] the examples of true class i predicted as j:
//
//	precision_k = C[k][k] / Σ_i C[i][k]    recall_k = C[k][k] / Σ_j C[k][j]
//	F1_k = 2·P_k·R_k / (P_k + R_k)          macro-F1 = (1/K) Σ_k F1_k
package week2
