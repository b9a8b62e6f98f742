#!/usr/bin/env python3
"""Pipeline-level references for llm/pipeline: Hugging Face pipeline post-processing
(fill-mask, text-classification, question-answering with doc-stride windows,
text-generation, feature-extraction) computed with torch + numpy on the tiny fixtures.

`transformers` is not installed here, so this script transcribes the parts of
transformers that matter, independently of divellm's Go code:

  * tokenization: a small re-implementation of BertTokenizer (BasicTokenizer +
    WordpieceTokenizer) over the same vocab.txt, with character offsets and word ids as
    the fast tokenizer reports them (every CJK character and every punctuation mark is a
    word; "##" pieces belong to the word before them);
  * question answering: QuestionAnsweringPipeline.preprocess (question first,
    truncation="only_second", overflowing windows with `stride` tokens of overlap, the
    Rust tokenizer's window rule, p_mask from sequence_ids with [CLS] unmasked) and
    postprocess (select_starts_ends + decode_spans, transcribed line by line in numpy
    float32, then token_to_word / word_to_chars to get character offsets);
  * fill-mask / text-classification / text-generation / feature-extraction post-processing.

The model forward passes reuse the torch modules of scripts/gen_hf_fixtures.py (the
same code that made testdata/hf/*/reference.safetensors) with the committed weights.

It also writes two checkpoint variants that real Chinese models use:
  testdata/hf/tiny-bert-qa-zh/  "RoBERTa-style" Chinese QA checkpoint as on the hub
                                (uer/roberta-base-chinese-extractive-qa): model_type "bert",
                                BertForQuestionAnswering (no pooler, no MLM/classifier head),
                                a stored bert.embeddings.position_ids buffer, vocab.txt.
  testdata/hf/tiny-gpt2-zh/     GPT-2 with a BERT vocabulary (uer/gpt2-chinese-*):
                                model_type "gpt2", tokenizer_class BertTokenizer, vocab.txt,
                                a stored lm_head.weight and attn.bias buffers.
and the references in testdata/hf/pipeline-ref/reference.json.

Run: /usr/bin/python3 scripts/gen_pipeline_fixtures.py   (torch + numpy; deterministic)
"""
import json
import os
import shutil
import sys
import unicodedata

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_hf_fixtures import BERT_CONFIG, GPT2_CONFIG, GPT2LMHeadModel, TinyBert  # noqa: E402
from safetensors_py import load_file, save_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HF = os.path.join(ROOT, "testdata", "hf")
GENERATOR = "scripts/gen_pipeline_fixtures.py"

torch.set_num_threads(1)


# ---------------------------------------------------------------------------------------
# BertTokenizer (lower-casing, Chinese characters split), with char offsets and word ids
# ---------------------------------------------------------------------------------------


def is_chinese(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


class BertTok:
    def __init__(self, vocab_path):
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab = [line.rstrip("\n") for line in f]
        self.ids = {t: i for i, t in enumerate(self.vocab)}
        self.specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        self.special_ids = {self.ids[s] for s in self.specials}

    def words(self, text):
        """BasicTokenizer: list of (word, start_char, end_char). Special tokens written in
        the text ([MASK]) are kept whole. Inputs here are ASCII/CJK, already NFC."""
        out, cur, cur_start = [], "", 0

        def flush(end):
            nonlocal cur
            if cur:
                out.append((cur, cur_start, end))
                cur = ""

        i = 0
        while i < len(text):
            sp = next((s for s in self.specials if text.startswith(s, i)), None)
            if sp:
                flush(i)
                out.append((sp, i, i + len(sp)))
                i += len(sp)
                continue
            ch = text[i]
            if ch.isspace():
                flush(i)
            elif is_chinese(ord(ch)) or is_punct(ch):
                flush(i)
                out.append((ch.lower(), i, i + 1))
            else:
                if not cur:
                    cur_start = i
                cur += ch.lower()
            i += 1
        flush(len(text))
        return out

    def encode(self, text):
        """Tokens as (id, start_char, end_char, word_index), no special tokens added."""
        toks = []
        for w, (word, s, e) in enumerate(self.words(text)):
            if word in self.specials:
                toks.append((self.ids[word], s, e, w))
                continue
            pieces, start = [], 0
            while start < len(word):
                end = len(word)
                while end > start:
                    sub = word[start:end] if start == 0 else "##" + word[start:end]
                    if sub in self.ids:
                        pieces.append((self.ids[sub], s + start, s + end, w))
                        break
                    end -= 1
                if end == start:
                    pieces = [(self.ids["[UNK]"], s, e, w)]
                    break
                start = end
            toks.extend(pieces)
        return toks

    def decode(self, ids, skip_special=True):
        """BertTokenizer.decode: join with spaces, glue ## pieces, clean up spaces."""
        toks = [self.vocab[i] for i in ids if not (skip_special and i in self.special_ids)]
        s = " ".join(toks).replace(" ##", "").strip()
        for a, b in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                     (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]:
            s = s.replace(a, b)
        return s


# ---------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------


def load_bert():
    model = TinyBert(BERT_CONFIG).eval()
    state, _ = load_file(os.path.join(HF, "tiny-bert", "model.safetensors"))
    model.load_state_dict(state, strict=False)  # the tied decoder is not a parameter
    return model, state


def load_gpt2():
    model = GPT2LMHeadModel(GPT2_CONFIG).eval()
    state, _ = load_file(os.path.join(HF, "tiny-gpt2", "model.safetensors"))
    model.load_state_dict(state)
    return model, state


def bert_forward(model, ids, type_ids=None):
    x = torch.tensor([ids], dtype=torch.int64)
    t = torch.zeros_like(x) if type_ids is None else torch.tensor([type_ids], dtype=torch.int64)
    with torch.no_grad():
        return model(x, torch.ones_like(x), t)


# ---------------------------------------------------------------------------------------
# Question answering: QuestionAnsweringPipeline.preprocess / postprocess
# ---------------------------------------------------------------------------------------


def qa_windows(tok, question, context, max_seq_len, doc_stride):
    """Question first, truncation only_second with overflow: the Rust tokenizer cuts the
    context tokens into windows of L = max_seq_len - len(q) - 3 tokens starting at
    0, L - stride, 2(L - stride), … and stops after the first window that reaches the end."""
    q = tok.encode(question)
    c = tok.encode(context)
    L = max_seq_len - len(q) - 3
    assert L > doc_stride, (L, doc_stride)
    starts, start = [], 0
    while True:
        stop = min(start + L, len(c))
        starts.append((start, stop))
        if stop == len(c):
            break
        start += L - doc_stride
    cls, sep = tok.ids["[CLS]"], tok.ids["[SEP]"]
    windows = []
    for a, b in starts:
        ids = [cls] + [t[0] for t in q] + [sep] + [t[0] for t in c[a:b]] + [sep]
        type_ids = [0] * (len(q) + 2) + [1] * (b - a + 1)
        seq_ids = [None] + [0] * len(q) + [None] + [1] * (b - a) + [None]
        # p_mask: 1 for tokens that cannot be in the answer (sequence_ids != 1), [CLS] kept.
        p_mask = [0 if s == 1 else 1 for s in seq_ids]
        p_mask[0] = 0
        ctx_tokens = [None] * (len(q) + 2) + c[a:b] + [None]
        windows.append({"ids": ids, "type_ids": type_ids, "p_mask": p_mask, "ctx": ctx_tokens})
    return windows


def decode_spans(start, end, topk, max_answer_len, undesired_tokens):
    """transformers.pipelines.question_answering.decode_spans, verbatim in numpy."""
    if start.ndim == 1:
        start = start[None]
    if end.ndim == 1:
        end = end[None]
    outer = np.matmul(np.expand_dims(start, -1), np.expand_dims(end, 1))
    candidates = np.tril(np.triu(outer), max_answer_len - 1)
    scores_flat = candidates.flatten()
    if topk == 1:
        idx_sort = [np.argmax(scores_flat)]
    elif len(scores_flat) < topk:
        idx_sort = np.argsort(-scores_flat)
    else:
        idx = np.argpartition(-scores_flat, topk)[0:topk]
        idx_sort = idx[np.argsort(-scores_flat[idx])]
    starts, ends = np.unravel_index(idx_sort, candidates.shape)[1:]
    desired_spans = np.isin(starts, undesired_tokens.nonzero()) & np.isin(ends, undesired_tokens.nonzero())
    starts = starts[desired_spans]
    ends = ends[desired_spans]
    scores = candidates[0, starts, ends]
    return starts, ends, scores


def select_starts_ends(start, end, p_mask, attention_mask, top_k, max_answer_len):
    """transformers.pipelines.question_answering.select_starts_ends (no impossible answer)."""
    undesired_tokens = np.abs(np.array(p_mask) - 1)
    if attention_mask is not None:
        undesired_tokens = undesired_tokens & attention_mask
    undesired_tokens_mask = undesired_tokens == 0.0
    start = np.where(undesired_tokens_mask, -10000.0, start)
    end = np.where(undesired_tokens_mask, -10000.0, end)
    start = np.exp(start - start.max(axis=-1, keepdims=True))
    start = start / start.sum()
    end = np.exp(end - end.max(axis=-1, keepdims=True))
    end = end / end.sum()
    start[0, 0] = end[0, 0] = 0.0
    return decode_spans(start, end, top_k, max_answer_len, undesired_tokens)


def question_answering(model, tok, question, context, top_k=1, max_answer_len=15, max_seq_len=384, doc_stride=128):
    windows = qa_windows(tok, question, context, max_seq_len, doc_stride)
    answers = []
    for w in windows:
        out = bert_forward(model, w["ids"], w["type_ids"])
        start = out["qa_start_logits"].numpy()  # (1, T) float32, as the pipeline's numpy()
        end = out["qa_end_logits"].numpy()
        attn = np.ones((1, len(w["ids"])), dtype=np.int64)
        starts, ends, scores = select_starts_ends(start, end, np.array([w["p_mask"]]), attn, top_k, max_answer_len)
        for s, e, score in zip(starts, ends, scores):
            # align_to_words: token_to_word then word_to_chars, within this window's tokens.
            ws, we = w["ctx"][s][3], w["ctx"][e][3]
            words = {}
            for t in w["ctx"]:
                if t is not None:
                    a, b = words.get(t[3], (t[1], t[2]))
                    words[t[3]] = (min(a, t[1]), max(b, t[2]))
            si, ei = words[ws][0], words[we][1]
            answers.append({"score": float(score), "start": si, "end": ei, "answer": context[si:ei],
                            "start_token": int(s), "end_token": int(e)})
    answers = sorted(answers, key=lambda x: x["score"], reverse=True)[:top_k]
    return windows, answers


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def softmax64(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max())
    return e / e.sum()


def make_variants(bert_state, gpt_state):
    # RoBERTa-style Chinese QA checkpoint (model_type bert): encoder + qa_outputs only.
    d = os.path.join(HF, "tiny-bert-qa-zh")
    os.makedirs(d, exist_ok=True)
    cfg = {k: v for k, v in BERT_CONFIG.items() if k not in ("num_labels", "id2label", "label2id")}
    cfg["architectures"] = ["BertForQuestionAnswering"]
    write_json(os.path.join(d, "config.json"), cfg)
    shutil.copyfile(os.path.join(HF, "tiny-bert", "vocab.txt"), os.path.join(d, "vocab.txt"))
    write_json(os.path.join(d, "tokenizer_config.json"), {"do_lower_case": True, "tokenizer_class": "BertTokenizer",
                                                         "model_max_length": 64})
    write_json(os.path.join(d, "special_tokens_map.json"), {"unk_token": "[UNK]", "sep_token": "[SEP]",
                                                           "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"})
    qa = {k: v for k, v in bert_state.items() if k.startswith("bert.") and not k.startswith("bert.pooler") or k.startswith("qa_outputs")}
    qa["bert.embeddings.position_ids"] = torch.arange(BERT_CONFIG["max_position_embeddings"], dtype=torch.int64)[None]
    save_file(qa, os.path.join(d, "model.safetensors"), {"format": "pt"})

    # GPT-2 with a BERT vocabulary (uer/gpt2-chinese-cluecorpussmall style).
    d = os.path.join(HF, "tiny-gpt2-zh")
    os.makedirs(d, exist_ok=True)
    cfg = dict(GPT2_CONFIG)
    cfg["tokenizer_class"] = "BertTokenizer"
    cfg["bos_token_id"], cfg["eos_token_id"] = 2, 3  # [CLS], [SEP] in the BERT vocab
    write_json(os.path.join(d, "config.json"), cfg)
    shutil.copyfile(os.path.join(HF, "tiny-bert", "vocab.txt"), os.path.join(d, "vocab.txt"))
    write_json(os.path.join(d, "tokenizer_config.json"), {"do_lower_case": True, "tokenizer_class": "BertTokenizer",
                                                         "model_max_length": 64})
    st = dict(gpt_state)
    st["lm_head.weight"] = gpt_state["transformer.wte.weight"].clone()
    P = GPT2_CONFIG["n_positions"]
    for i in range(GPT2_CONFIG["n_layer"]):
        st[f"transformer.h.{i}.attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)
        st[f"transformer.h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    save_file(st, os.path.join(d, "model.safetensors"), {"format": "pt"})


def main():
    bert, bert_state = load_bert()
    gpt, gpt_state = load_gpt2()
    make_variants(bert_state, gpt_state)
    tok = BertTok(os.path.join(HF, "tiny-bert", "vocab.txt"))
    cls_id, sep_id = tok.ids["[CLS]"], tok.ids["[SEP]"]
    ref = {"generator": GENERATOR, "torch": torch.__version__, "numpy": np.__version__}

    # Question answering.
    long_ctx = ("今天天气很好，我们在北京学习语言模型。注意力机制让模型看见每个字。"
                "他想吃饭，她想喝水，小猫和小狗在山上看花。明天会下雨，风很大，我们读书写字。"
                "the attention model is all you need.")
    qa_cases = [
        {"question": "北京在哪里？", "context": "我们爱北京，它很大。今天天气很好，我想喝茶。"},
        {"question": "磁盘已满会导致什么？", "context": "磁盘已满会导致系统无法写入新文件，程序可能崩溃。"},
        {"question": "what is the model?", "context": "the attention model is all you need, bert tokenizer and gpt tokenizing."},
        {"question": "谁想喝水？", "context": long_ctx, "max_seq_len": 32, "doc_stride": 8},
        {"question": "今天天气怎么样？", "context": long_ctx, "max_seq_len": 40, "doc_stride": 16, "top_k": 3},
        {"question": "他们在做什么？", "context": "我们在北京学习语言模型，他们看书。", "top_k": 4, "max_answer_len": 3},
    ]
    ref["question_answering"] = []
    for case in qa_cases:
        opts = {"top_k": case.get("top_k", 1), "max_answer_len": case.get("max_answer_len", 15),
                "max_seq_len": case.get("max_seq_len", 64), "doc_stride": case.get("doc_stride", 16)}
        windows, answers = question_answering(bert, tok, case["question"], case["context"], **opts)
        ref["question_answering"].append({
            "question": case["question"], "context": case["context"], **opts,
            "windows": [w["ids"] for w in windows],
            "answers": answers,
        })
        print(f"qa {case['question']!r}: {len(windows)} window(s), {answers}")

    # Text classification: softmax over the classifier logits, labels from id2label.
    ref["text_classification"] = []
    for text in ["今天天气很好，我很爱学习。", "我不想吃饭", "the model is all you need"]:
        ids = [cls_id] + [t[0] for t in tok.encode(text)] + [sep_id]
        logits = bert_forward(bert, ids)["cls_logits"][0].numpy()
        p = softmax64(logits)
        labels = [{"label": BERT_CONFIG["id2label"][str(i)], "score": float(p[i])} for i in range(len(p))]
        labels.sort(key=lambda x: -x["score"])
        ref["text_classification"].append({"text": text, "ids": ids, "labels": labels})

    # Fill-mask: softmax at the [MASK], top 5, sequence = decode with the candidate, no specials.
    ref["fill_mask"] = []
    for text in ["我们爱北京，它很[MASK]。", "今天天气[MASK]好", "the [MASK] is all you need"]:
        ids = [cls_id] + [t[0] for t in tok.encode(text)] + [sep_id]
        pos = ids.index(tok.ids["[MASK]"])
        probs = softmax64(bert_forward(bert, ids)["mlm_logits"][0, pos].numpy())
        top = np.argsort(-probs, kind="stable")[:5]
        res = []
        for i in top:
            filled = list(ids)
            filled[pos] = int(i)
            res.append({"score": float(probs[i]), "token": int(i), "token_str": tok.decode([int(i)], skip_special=False),
                        "sequence": tok.decode(filled)})
        ref["fill_mask"].append({"text": text, "ids": ids, "results": res})

    # Feature extraction: last hidden state of [CLS] text [SEP].
    ref["feature_extraction"] = []
    for text in ["我们爱北京"]:
        ids = [cls_id] + [t[0] for t in tok.encode(text)] + [sep_id]
        h = bert_forward(bert, ids)["last_hidden_state"][0]
        ref["feature_extraction"].append({"text": text, "ids": ids, "hidden": [[float(v) for v in row] for row in h]})

    # Text generation with the GPT-2 that uses a BERT vocab: greedy, prompt without
    # special tokens (add_special_tokens=False), generated_text = prompt + decode(all)[len(decode(prompt)):].
    ref["text_generation"] = []
    for prompt, n in [("今天天气很", 8), ("我们爱", 5)]:
        ids = [t[0] for t in tok.encode(prompt)]
        seq = list(ids)
        with torch.no_grad():
            for _ in range(n):
                x = torch.tensor([seq])
                logits = gpt(x, torch.ones_like(x))[0][0, -1]
                seq.append(int(torch.argmax(logits)))
        full = tok.decode(seq)
        text = prompt + full[len(tok.decode(ids)):]
        ref["text_generation"].append({"prompt": prompt, "max_new_tokens": n, "prompt_ids": ids,
                                       "generated_ids": seq[len(ids):], "generated_text": text})
        print(f"generate {prompt!r}: {text!r}")

    d = os.path.join(HF, "pipeline-ref")
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "reference.json"), ref)


if __name__ == "__main__":
    main()
