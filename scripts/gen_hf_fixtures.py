#!/usr/bin/env python3
"""Tiny BERT and GPT-2 checkpoints in Hugging Face layout, with reference activations.

The `transformers` library is not installed here, so this script re-implements the
modelling code of transformers' modeling_bert.py (BertModel, BertForMaskedLM,
BertForQuestionAnswering, BertForSequenceClassification) and modeling_gpt2.py
(GPT2LMHeadModel) with plain torch ops, in eager mode, one nn.Module per HF module so the
state_dict names are HF's. Eval mode: every dropout is the identity.

Outputs (see testdata/hf/README.md for the exact semantics):
  testdata/hf/tiny-bert/           config.json vocab.txt tokenizer_config.json model.safetensors reference.safetensors
  testdata/hf/tiny-gpt2/           config.json model.safetensors reference.safetensors
  testdata/hf/tiny-gpt2-hub-style/ config.json model.safetensors  (same weights, names without
                                   "transformer.", plus h.N.attn.bias buffers, like the gpt2 hub file)

Run: /usr/bin/python3 scripts/gen_hf_fixtures.py   (torch only; deterministic)
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_py import load_file, save_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "testdata", "hf")
GENERATOR = "scripts/gen_hf_fixtures.py"

torch.set_num_threads(1)  # one thread: identical float sums on every run


# ---------------------------------------------------------------------------------------
# BERT (modeling_bert.py, post-LN encoder)
# ---------------------------------------------------------------------------------------

BERT_CONFIG = {
    "architectures": ["BertForMaskedLM"],
    "model_type": "bert",
    "vocab_size": 120,
    "hidden_size": 32,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "initializer_range": 0.02,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "classifier_dropout": None,
    "num_labels": 3,
    "id2label": {"0": "负面", "1": "中性", "2": "正面"},
    "label2id": {"负面": 0, "中性": 1, "正面": 2},
    "torch_dtype": "float32",
    "use_cache": True,
}


def gelu(x):
    """ACT2FN["gelu"]: the exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2))."""
    return F.gelu(x)


def gelu_new(x):
    """ACT2FN["gelu_new"] (NewGELUActivation): the tanh approximation used by GPT-2."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c["pad_token_id"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, input_ids, token_type_ids):
        T = input_ids.shape[1]
        position_ids = torch.arange(T)[None, :]  # (1, T): absolute positions 0..T-1
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh = c["num_attention_heads"]
        self.hd = c["hidden_size"] // self.nh
        H = c["hidden_size"]
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def heads(self, x):  # (B, T, H) -> (B, nh, T, hd)
        B, T, _ = x.shape
        return x.view(B, T, self.nh, self.hd).permute(0, 2, 1, 3)

    def forward(self, h, ext_mask):
        q, k, v = self.heads(self.query(h)), self.heads(self.key(h)), self.heads(self.value(h))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.hd)  # (B, nh, T, T)
        scores = scores + ext_mask  # (B, 1, 1, T): 0 for real keys, finfo.min for [PAD] keys
        probs = self.dropout(F.softmax(scores, dim=-1))
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()  # (B, T, nh, hd)
        return ctx.view(ctx.shape[0], ctx.shape[1], -1), probs


class BertSelfOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, x, residual):  # post-LN: LayerNorm(residual + sublayer)
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, h, ext_mask):
        ctx, probs = self.self(h, ext_mask)
        return self.output(ctx, h), probs


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

    def forward(self, x):
        return gelu(self.dense(x))


class BertOutput(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["intermediate_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, h, ext_mask):
        a, probs = self.attention(h, ext_mask)
        return self.output(self.intermediate(a), a), probs


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c["num_hidden_layers"])])


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, h):  # tanh(W·h[CLS] + b)
        return torch.tanh(self.dense(h[:, 0]))


class BertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c)

    def forward(self, input_ids, attention_mask, token_type_ids):
        # get_extended_attention_mask: (B, T) -> (B, 1, 1, T), 0 keep / finfo.min drop.
        ext = attention_mask[:, None, None, :].to(torch.get_default_dtype())
        ext = (1.0 - ext) * torch.finfo(ext.dtype).min
        h = self.embeddings(input_ids, token_type_ids)
        hidden_states, attentions = [h], []
        for layer in self.encoder.layer:
            h, probs = layer(h, ext)
            hidden_states.append(h)
            attentions.append(probs)
        return h, self.pooler(h), hidden_states, attentions


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x):
        return self.LayerNorm(gelu(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    def __init__(self, c, word_embeddings):
        super().__init__()
        self.transform = BertPredictionHeadTransform(c)
        self.word_embeddings = [word_embeddings]  # the tied decoder weight (a list: not a submodule)
        self.bias = nn.Parameter(torch.zeros(c["vocab_size"]))

    def forward(self, h):  # decoder(x) = x·Eᵀ + bias, E = bert.embeddings.word_embeddings.weight
        return F.linear(self.transform(h), self.word_embeddings[0].weight) + self.bias


class BertOnlyMLMHead(nn.Module):
    def __init__(self, c, word_embeddings):
        super().__init__()
        self.predictions = BertLMPredictionHead(c, word_embeddings)


class TinyBert(nn.Module):
    """BertForMaskedLM's bert + cls, with BertModel's pooler, BertForQuestionAnswering's
    qa_outputs and BertForSequenceClassification's classifier on the same encoder."""

    def __init__(self, c):
        super().__init__()
        self.bert = BertModel(c)
        self.cls = BertOnlyMLMHead(c, self.bert.embeddings.word_embeddings)
        self.qa_outputs = nn.Linear(c["hidden_size"], 2)
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.classifier = nn.Linear(c["hidden_size"], c["num_labels"])

    def forward(self, input_ids, attention_mask, token_type_ids):
        seq, pooled, hidden_states, attentions = self.bert(input_ids, attention_mask, token_type_ids)
        qa = self.qa_outputs(seq)  # (B, T, 2)
        start, end = qa.split(1, dim=-1)
        out = {
            "mlm_logits": self.cls.predictions(seq),
            "pooled": pooled,
            "last_hidden_state": seq,
            "qa_start_logits": start.squeeze(-1).contiguous(),
            "qa_end_logits": end.squeeze(-1).contiguous(),
            "cls_logits": self.classifier(self.dropout(pooled)),
        }
        for i, h in enumerate(hidden_states):
            out[f"hidden_states.{i}"] = h
        for i, a in enumerate(attentions):
            out[f"attentions.{i}"] = a
        return out


# ---------------------------------------------------------------------------------------
# GPT-2 (modeling_gpt2.py, pre-LN decoder, Conv1D weights stored [in, out])
# ---------------------------------------------------------------------------------------

GPT2_CONFIG = {
    "architectures": ["GPT2LMHeadModel"],
    "model_type": "gpt2",
    "vocab_size": 120,
    "n_embd": 32,
    "n_head": 4,
    "n_layer": 2,
    "n_positions": 64,
    "n_ctx": 64,
    "n_inner": None,
    "layer_norm_epsilon": 1e-5,
    "activation_function": "gelu_new",
    "bos_token_id": 119,
    "eos_token_id": 119,
    "resid_pdrop": 0.1,
    "embd_pdrop": 0.1,
    "attn_pdrop": 0.1,
    "initializer_range": 0.02,
    "scale_attn_weights": True,
    "use_cache": True,
    "torch_dtype": "float32",
}


class Conv1D(nn.Module):
    """HF's Conv1D: a linear layer whose weight is stored transposed, [in, out]: y = x·W + b."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        y = torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight)
        return y.view(*x.shape[:-1], self.nf)


class GPT2Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        E, P = c["n_embd"], c["n_positions"]
        self.nh, self.hd, self.E = c["n_head"], E // c["n_head"], E
        self.register_buffer("bias", torch.tril(torch.ones(P, P, dtype=torch.bool)).view(1, 1, P, P), persistent=False)
        self.c_attn = Conv1D(3 * E, E)
        self.c_proj = Conv1D(E, E)

    def heads(self, x):  # (B, T, E) -> (B, nh, T, hd)
        B, T, _ = x.shape
        return x.view(B, T, self.nh, self.hd).permute(0, 2, 1, 3)

    def forward(self, h, ext_mask, past=None):
        q, k, v = self.c_attn(h).split(self.E, dim=2)
        q, k, v = self.heads(q), self.heads(k), self.heads(v)
        if past is not None:  # KV cache: keys/values of earlier positions
            k, v = torch.cat([past[0], k], dim=-2), torch.cat([past[1], v], dim=-2)
        w = torch.matmul(q, k.transpose(-1, -2))  # (B, nh, Tq, Tk)
        w = w / torch.full([], v.size(-1) ** 0.5, dtype=w.dtype)
        Tq, Tk = q.size(-2), k.size(-2)
        causal = self.bias[:, :, Tk - Tq : Tk, :Tk]
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        w = w + ext_mask  # padding mask on keys, (B, 1, 1, Tk)
        probs = F.softmax(w, dim=-1)
        out = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        out = out.view(out.shape[0], out.shape[1], self.E)
        return self.c_proj(out), probs, (k, v)


class GPT2MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        E = c["n_embd"]
        inner = c["n_inner"] or 4 * E
        self.c_fc = Conv1D(inner, E)
        self.c_proj = Conv1D(E, inner)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        E = c["n_embd"]
        self.ln_1 = nn.LayerNorm(E, eps=c["layer_norm_epsilon"])
        self.attn = GPT2Attention(c)
        self.ln_2 = nn.LayerNorm(E, eps=c["layer_norm_epsilon"])
        self.mlp = GPT2MLP(c)

    def forward(self, h, ext_mask, past=None):  # pre-LN: h + sublayer(LayerNorm(h))
        a, probs, present = self.attn(self.ln_1(h), ext_mask, past)
        h = h + a
        h = h + self.mlp(self.ln_2(h))
        return h, probs, present


class GPT2Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.drop = nn.Dropout(c["embd_pdrop"])
        self.h = nn.ModuleList([GPT2Block(c) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])

    def forward(self, input_ids, attention_mask, past=None):
        past_len = 0 if past is None else past[0][0].size(-2)
        T = input_ids.shape[1]
        position_ids = torch.arange(past_len, past_len + T)[None, :]
        ext = attention_mask[:, None, None, :].to(torch.get_default_dtype())
        ext = (1.0 - ext) * torch.finfo(ext.dtype).min
        h = self.drop(self.wte(input_ids) + self.wpe(position_ids))
        hidden_states, attentions, presents = [h], [], []
        for i, block in enumerate(self.h):
            h, probs, present = block(h, ext, None if past is None else past[i])
            hidden_states.append(h)
            attentions.append(probs)
            presents.append(present)
        return self.ln_f(h), hidden_states, attentions, presents


class GPT2LMHeadModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = GPT2Model(c)

    def forward(self, input_ids, attention_mask, past=None):
        last, hidden_states, attentions, presents = self.transformer(input_ids, attention_mask, past)
        logits = F.linear(last, self.transformer.wte.weight)  # lm_head tied to wte, no bias
        return logits, last, hidden_states, attentions, presents


# ---------------------------------------------------------------------------------------
# Initialisation, tokens, writing
# ---------------------------------------------------------------------------------------


def init_weights(model, seed):
    """Weights N(0, 0.2²) so attention is far from uniform; biases N(0, 0.1²); LayerNorm
    gamma 1 + N(0, 0.1²) and beta N(0, 0.1²), so a mix-up of gamma/beta shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if ("LayerNorm" in name or ".ln_" in name or name.startswith("ln_")) and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.2 * noise)


BERT_VOCAB = (
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + list("，。？！、：")
    + list("我你他她它们的是不了在有人这中大来上个到说为和地也就要会对好很天气今明北京上海"
           "爱学习语言模型注意力机器读书写字看听想吃饭喝水茶猫狗花山河风雨日月年时小多少")
    + ["the", "model", "attention", "is", "all", "you", "need", "##s", "##ing", "##ed",
       "bert", "gpt", "token", "##izer", "a", "of", "to", "and", "in", "it"]
)


def bert_vocab():
    vocab, seen = [], set()
    for tok in BERT_VOCAB:
        if tok not in seen:
            seen.add(tok)
            vocab.append(tok)
    filler = iter("一二三四五六七八九十百千万")
    while len(vocab) < BERT_CONFIG["vocab_size"]:
        tok = next(filler)
        if tok not in seen:
            seen.add(tok)
            vocab.append(tok)
    assert len(vocab) == BERT_CONFIG["vocab_size"], len(vocab)
    return vocab


def save_model(model, path, drop=()):
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items() if k not in drop}
    save_file(state, path, {"format": "pt"})
    return state


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def as_f32(d):
    return {k: v.detach().to(torch.float32).contiguous() for k, v in d.items()}


def max_abs_diff(a, b):
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


def make_bert():
    d = os.path.join(OUT, "tiny-bert")
    os.makedirs(d, exist_ok=True)
    c = BERT_CONFIG
    model = TinyBert(c).eval()
    init_weights(model, seed=1234)

    vocab = bert_vocab()
    ids = {t: i for i, t in enumerate(vocab)}
    with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    write_json(os.path.join(d, "tokenizer_config.json"), {
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "tokenize_chinese_chars": True,
        "model_max_length": c["max_position_embeddings"], "pad_token": "[PAD]", "unk_token": "[UNK]",
        "cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]",
    })
    write_json(os.path.join(d, "config.json"), c)

    # Row 0: one sentence with a [MASK] (我们爱北京，它很[大]。), 12 tokens.
    # Row 1: a sentence pair (你好 / 我很好), 8 tokens then 4 [PAD].
    rows = [
        ["[CLS]", "我", "们", "爱", "北", "京", "，", "它", "很", "[MASK]", "。", "[SEP]"],
        ["[CLS]", "你", "好", "[SEP]", "我", "很", "好", "[SEP]", "[PAD]", "[PAD]", "[PAD]", "[PAD]"],
    ]
    input_ids = torch.tensor([[ids[t] for t in r] for r in rows], dtype=torch.int64)
    attention_mask = (input_ids != c["pad_token_id"]).to(torch.int64)
    token_type_ids = torch.tensor([[0] * 12, [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]], dtype=torch.int64)

    # The tied decoder weight is not a parameter of TinyBert, so state_dict has no
    # cls.predictions.decoder.* — exactly what save_pretrained leaves in the file.
    state = save_model(model, os.path.join(d, "model.safetensors"))
    with torch.no_grad():
        out = as_f32(model(input_ids, attention_mask, token_type_ids))
        model64 = TinyBert(c).double().eval()
        model64.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
        torch.set_default_dtype(torch.float64)
        out64 = model64(input_ids, attention_mask, token_type_ids)
        torch.set_default_dtype(torch.float32)
    ref = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids, **out}
    meta = {"format": "pt", "generator": GENERATOR, "torch": torch.__version__,
            "tokens": json.dumps(rows, ensure_ascii=False),
            "float64_max_abs_diff": f"{max_abs_diff(out, out64):.3g}"}
    save_file(ref, os.path.join(d, "reference.safetensors"), meta)
    check_roundtrip(d, state)

    masked = rows[0].index("[MASK]")
    top = out["mlm_logits"][0, masked].topk(3).indices.tolist()
    print(f"tiny-bert: {len(state)} weight tensors, {sum(v.numel() for v in state.values())} params")
    print(f"  float32 vs float64 max |diff| over outputs: {meta['float64_max_abs_diff']}")
    print(f"  attention row spread (max prob, layer 0): {out['attentions.0'].max(-1).values.mean():.3f}")
    print(f"  [MASK] top-3 (random weights): {[vocab[i] for i in top]}; cls_logits {out['cls_logits'].tolist()}")
    print(f"  padded keys get prob {out['attentions.0'][1, :, :, 8:].abs().max().item()}")


def make_gpt2():
    d = os.path.join(OUT, "tiny-gpt2")
    hub = os.path.join(OUT, "tiny-gpt2-hub-style")
    os.makedirs(d, exist_ok=True)
    os.makedirs(hub, exist_ok=True)
    c = GPT2_CONFIG
    model = GPT2LMHeadModel(c).eval()
    init_weights(model, seed=5678)
    write_json(os.path.join(d, "config.json"), c)
    write_json(os.path.join(hub, "config.json"), c)

    g = torch.Generator().manual_seed(42)
    B, T, pad = 2, 10, 3
    input_ids = torch.randint(0, c["vocab_size"] - 1, (B, T), generator=g)
    attention_mask = torch.ones(B, T, dtype=torch.int64)
    attention_mask[1, T - pad:] = 0
    input_ids[1, T - pad:] = c["eos_token_id"]  # GPT-2 has no pad token: pad with eos

    state = save_model(model, os.path.join(d, "model.safetensors"))
    # The original "gpt2" hub checkpoint (GPT2Model) has no "transformer." prefix and also
    # stores each layer's causal-mask buffer h.N.attn.bias, [1, 1, n_positions, n_positions].
    hub_state = {k[len("transformer."):]: v for k, v in state.items()}
    P = c["n_positions"]
    for i in range(c["n_layer"]):
        hub_state[f"h.{i}.attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)
    save_file(hub_state, os.path.join(hub, "model.safetensors"), {"format": "pt"})

    with torch.no_grad():
        logits, last, hidden_states, attentions, _ = model(input_ids, attention_mask)
        # Incremental decoding with a KV cache must give the same logits at every position.
        past, steps = None, []
        for t in range(T):
            lg, _, _, _, presents = model(input_ids[:, t:t + 1], attention_mask[:, :t + 1], past)
            past = presents
            steps.append(lg)
        kv_diff = (torch.cat(steps, dim=1) - logits).abs().max().item()
        assert kv_diff < 1e-5, kv_diff
        model64 = GPT2LMHeadModel(c).double().eval()
        model64.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
        torch.set_default_dtype(torch.float64)
        logits64 = model64(input_ids, attention_mask)[0]
        torch.set_default_dtype(torch.float32)

    ref = {"input_ids": input_ids, "attention_mask": attention_mask, "logits": logits, "last_hidden_state": last}
    for i, h in enumerate(hidden_states):
        ref[f"hidden_states.{i}"] = h
    for i, a in enumerate(attentions):
        ref[f"attentions.{i}"] = a
    ref = {k: (v if v.dtype == torch.int64 else v.float().contiguous()) for k, v in ref.items()}
    meta = {"format": "pt", "generator": GENERATOR, "torch": torch.__version__,
            "kv_cache_max_abs_diff": f"{kv_diff:.3g}",
            "float64_max_abs_diff": f"{(logits.double() - logits64).abs().max().item():.3g}"}
    save_file(ref, os.path.join(d, "reference.safetensors"), meta)
    check_roundtrip(d, state)

    print(f"tiny-gpt2: {len(state)} weight tensors, {sum(v.numel() for v in state.values())} params")
    print(f"  KV-cache vs full-sequence logits max |diff|: {kv_diff:.3g}; float32 vs float64: {meta['float64_max_abs_diff']}")
    print(f"  attention row spread (max prob, layer 0): {attentions[0].max(-1).values.mean():.3f}")
    print(f"  future/padded keys get prob {max(attentions[0][0].triu(1).abs().max().item(), attentions[0][1, :, :, T - pad:].abs().max().item())}")
    print(f"  input_ids {input_ids.tolist()}")


def check_roundtrip(d, state):
    back, meta = load_file(os.path.join(d, "model.safetensors"))
    assert meta == {"format": "pt"} and set(back) == set(state)
    for k, v in state.items():
        assert torch.equal(back[k], v), k


if __name__ == "__main__":
    print(f"torch {torch.__version__}")
    make_bert()
    make_gpt2()
