// Package data embeds divellm's own Chinese datasets so that lessons and tests run
// offline. Every text was written for this project or produced by the committed
// generator in ./gen from the hand-written tables in ./gen/tables (math/rand/v2 PCG, one
// constant seed per dataset); `go run ./lessons/data/gen` rewrites the files byte for
// byte.
//
//   - A pretraining corpus (Corpus, CorpusLines): explanatory paragraphs on computing,
//     operations, networking, databases and NLP; alert log lines such as
//     "2026-03-14 02:13:07 [CRITICAL] db-prod-03 磁盘使用率 97%，/var/lib/mysql 剩余 1.2GB";
//     runbooks, incident reviews and on-call handovers; and everyday sentences
//     (他昨天去银行取钱了。). One paragraph or log line per line. Documents, not lines,
//     are split ≈95/5 into train and val, so a val line never appears in train.
//
//   - Fill-mask probes (MLMProbes) for a character-level BERT: a sentence with one
//     [MASK] and the characters that fit. The corpus teaches each answer through the
//     same structure in other sentences but never contains the filled-in probe.
//
//   - Alert classification (Alerts, AlertLabels): alert texts labelled with one of eight
//     root causes, split 80/10/10 into train/val/test from the same templates. A third
//     borrow another class's vocabulary (数据库连接超时 caused by packet loss) and a few
//     are vague, so a bag-of-characters classifier stays well below 100%. Because the
//     test split shares templates with training, it measures template recall; the hard
//     split (HardSplit, AlertKinds) is written from templates, phrasings, hosts and
//     services that never occur in training, in six kinds of difficulty, and measures
//     what a model understood. A line with two symptoms is labelled by its root cause.
//
//   - Supervised fine-tuning and preference data (SFT, DPO) for a character-level GPT
//     with 128 positions: 问：question答：answer in at most SFTMaxRunes characters. SFT
//     trains the answer tokens only, the loss being −Σ_{t∈answer} log p(x_t | x_<t);
//     DPO compares, for one prompt x, a chosen answer y_w with a rejected one y_l:
//     −log σ(β[(log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))]).
//
//   - Extractive question answering (QA), SQuAD style: a context, a question and the
//     answer span, whose start is a character (rune) offset. A span model predicts a
//     start and an end distribution over the context and picks the best (start ≤ end)
//     pair; question+context fits QAMaxRunes, and a "long" split needs windows.
//
//   - Toy sequence-to-sequence tasks (Seq2Seq) for a tiny encoder-decoder: an alert line
//     to its summary (mostly copied, so cross-attention shows the alignment) and a
//     spoken date to MM-DD HH:MM.
//
// Every held-out split is checked by tests against its training data: no shared
// template or phrasing, no shared context, unseen names where the split says so.
//
// For a character-level model the useful numbers are in Stats: a corpus of N runes
// drawn from V distinct characters gives a vocabulary of V (+ special tokens), and a
// model that knew nothing would have a cross-entropy of ln V nats per character.
package data
