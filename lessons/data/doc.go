// Package data embeds divellm's own Chinese datasets so that lessons and tests run
// offline. Every text was written for this project or produced by the committed
// generator in ./gen (math/rand/v2 PCG, constant seeds); `go run ./lessons/data/gen`
// rewrites the files byte for byte.
//
// Three datasets:
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
//     same structure in other sentences but never contains the filled-in probe, so a
//     probe measures generalisation, not recall.
//
//   - Alert classification (Alerts, AlertLabels): alert texts labelled with one of eight
//     root causes, split 80/10/10 into train/val/test. A third of the examples borrow
//     another class's vocabulary (数据库连接超时 caused by packet loss) and a few are
//     vague symptoms, so a bag-of-characters classifier stays well below 100%.
//
// For a character-level model the useful numbers are in Stats: a corpus of N runes
// drawn from V distinct characters gives a vocabulary of V (+ special tokens), and a
// model that knew nothing would have a cross-entropy of ln V nats per character.
package data
