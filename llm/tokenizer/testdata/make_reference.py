#!/usr/bin/env python3
"""Reference tokenizations for divellm's llm/tokenizer tests.

Run from llm/tokenizer: python3 testdata/make_reference.py   (needs only the `regex` module)

transformers is not available offline, so this script re-implements, independently of the
Go code and in Hugging Face's own style, the pieces that define the results:

* BertTokenizer (slow, transformers >= 4.31): PreTrainedTokenizer.tokenize's per-character
  lower-casing and special-token split, BasicTokenizer (clean text, Chinese chars, NFC,
  lower/strip accents, punctuation split) and WordpieceTokenizer -- transcribed from
  transformers/models/bert/tokenization_bert.py.
* GPT2Tokenizer (slow): bytes_to_unicode, the GPT-2 regex (with the `regex` module) and
  bpe() -- transcribed from transformers/models/gpt2/tokenization_gpt2.py.
* A plain, slow BPE trainer (recount every pair after each merge; ties to the smallest
  pair of ids, as HF's trainer), for GPT-2's regex and divellm's CJK variant.

It writes testdata/reference/: wordpiece_vocab.txt, bpe_corpus.txt, gpt2/{vocab.json,
merges.txt} and reference.json. Deterministic: rerunning rewrites the same bytes.
"""
import json
import os
import random
import unicodedata

import regex

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference")

# ---------------------------------------------------------------- WordPiece vocabulary
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def make_vocab():
    punct = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + list("，。！？、：；「」《》（）…—")
    chinese = []
    for c in ("我你他她它们的是不了在有人这中大来上国个到说和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用"
              "发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从今超市气很园散步机器习工智一深度"
              "模型需数据语言训练注意力制词元编码解服务磁盘内存告警日志北京上海发展研究问题结果因为所以但如没什怎"):
        if c not in chinese:
            chinese.append(c)
    english = ["the", "un", "##aff", "##able", "token", "##s", "##ing", "##ed", "##ly", "play", "hello", "world", "he",
               "##llo", "cafe", "resume", "naive", "it", "don", "t", "s", "ll", "go", "gp", "##u", "##t", "café", "##é", "é",
               "σοφοσ", "σοφος", "istanbul", "ⅻ", "½", "한국어", "カタカナ", "ひらがな", "ー", "ａｂｃ", "x", "##x"]
    vocab = SPECIALS + punct + chinese + english
    for extra in [chr(c) for c in range(ord("a"), ord("z") + 1)] + [str(d) for d in range(10)]:
        for tok in (extra, "##" + extra):
            if tok not in vocab:
                vocab.append(tok)
    assert len(vocab) == len(set(vocab))
    return vocab


# ---------------------------------------------------------------- BertTokenizer
def _is_whitespace(char):
    if char in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(char) == "Zs"


def _is_control(char):
    if char in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(char).startswith("C")


def _is_punctuation(char):
    cp = ord(char)
    if (33 <= cp <= 47) or (58 <= cp <= 64) or (91 <= cp <= 96) or (123 <= cp <= 126):
        return True
    return unicodedata.category(char).startswith("P")


def _is_chinese_char(cp):
    return ((0x4E00 <= cp <= 0x9FFF) or (0x3400 <= cp <= 0x4DBF) or (0x20000 <= cp <= 0x2A6DF)
            or (0x2A700 <= cp <= 0x2B73F) or (0x2B740 <= cp <= 0x2B81F) or (0x2B820 <= cp <= 0x2CEAF)
            or (0xF900 <= cp <= 0xFAFF) or (0x2F800 <= cp <= 0x2FA1F))


def whitespace_tokenize(text):
    text = text.strip()
    return text.split() if text else []


class BasicTokenizer:
    def __init__(self, do_lower_case, never_split, tokenize_chinese_chars=True, strip_accents=None):
        self.do_lower_case = do_lower_case
        self.never_split = set(never_split)
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.strip_accents = strip_accents

    def tokenize(self, text, never_split=None):
        never_split = self.never_split.union(set(never_split)) if never_split else self.never_split
        text = self._clean_text(text)
        if self.tokenize_chinese_chars:
            text = self._tokenize_chinese_chars(text)
        unicode_normalized_text = unicodedata.normalize("NFC", text)
        orig_tokens = whitespace_tokenize(unicode_normalized_text)
        split_tokens = []
        for token in orig_tokens:
            if token not in never_split:
                if self.do_lower_case:
                    token = token.lower()
                    if self.strip_accents is not False:
                        token = self._run_strip_accents(token)
                elif self.strip_accents:
                    token = self._run_strip_accents(token)
            split_tokens.extend(self._run_split_on_punc(token, never_split))
        return whitespace_tokenize(" ".join(split_tokens))

    def _run_strip_accents(self, text):
        text = unicodedata.normalize("NFD", text)
        return "".join(c for c in text if unicodedata.category(c) != "Mn")

    def _run_split_on_punc(self, text, never_split=None):
        if never_split is not None and text in never_split:
            return [text]
        output, start_new_word = [], True
        for char in text:
            if _is_punctuation(char):
                output.append([char])
                start_new_word = True
            else:
                if start_new_word:
                    output.append([])
                start_new_word = False
                output[-1].append(char)
        return ["".join(x) for x in output]

    def _tokenize_chinese_chars(self, text):
        out = []
        for char in text:
            if _is_chinese_char(ord(char)):
                out += [" ", char, " "]
            else:
                out.append(char)
        return "".join(out)

    def _clean_text(self, text):
        out = []
        for char in text:
            cp = ord(char)
            if cp == 0 or cp == 0xFFFD or _is_control(char):
                continue
            out.append(" " if _is_whitespace(char) else char)
        return "".join(out)


class WordpieceTokenizer:
    def __init__(self, vocab, unk_token, max_input_chars_per_word=100):
        self.vocab, self.unk_token, self.max_input_chars_per_word = vocab, unk_token, max_input_chars_per_word

    def tokenize(self, text):
        output_tokens = []
        for token in whitespace_tokenize(text):
            chars = list(token)
            if len(chars) > self.max_input_chars_per_word:
                output_tokens.append(self.unk_token)
                continue
            is_bad, start, sub_tokens = False, 0, []
            while start < len(chars):
                end, cur_substr = len(chars), None
                while start < end:
                    substr = "".join(chars[start:end])
                    if start > 0:
                        substr = "##" + substr
                    if substr in self.vocab:
                        cur_substr = substr
                        break
                    end -= 1
                if cur_substr is None:
                    is_bad = True
                    break
                sub_tokens.append(cur_substr)
                start = end
            output_tokens.extend([self.unk_token] if is_bad else sub_tokens)
        return output_tokens


def split_specials(text, specials):
    """PreTrainedTokenizer's trie split: the earliest, then longest, special token."""
    out, last, i = [], 0, 0
    ordered = sorted(specials, key=len, reverse=True)
    while i < len(text):
        for s in ordered:
            if text.startswith(s, i):
                if i > last:
                    out.append(text[last:i])
                out.append(s)
                i += len(s)
                last = i
                break
        else:
            i += 1
    if last < len(text):
        out.append(text[last:])
    return out


def bert_encode(text, vocab, do_lower_case, strip_accents=None):
    ids = {t: i for i, t in enumerate(vocab)}
    if do_lower_case:  # PreTrainedTokenizer.tokenize: lower-case everything but specials
        pattern = r"(" + r"|".join(regex.escape(s) for s in SPECIALS) + r")|" + r"(.+?)"
        text = regex.sub(pattern, lambda m: m.groups()[0] or m.groups()[1].lower(), text)
    basic = BasicTokenizer(do_lower_case, SPECIALS, strip_accents=strip_accents)
    wp = WordpieceTokenizer(ids, "[UNK]")
    tokens = []
    for piece in split_specials(text, SPECIALS):
        if piece in SPECIALS:
            tokens.append(piece)
            continue
        for tok in basic.tokenize(piece, never_split=SPECIALS):
            tokens.extend([tok] if tok in basic.never_split else wp.tokenize(tok))
    return [ids.get(t, ids["[UNK]"]) for t in tokens]


# ---------------------------------------------------------------- GPT-2 byte-level BPE
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2 ** 8):
        if b not in bs:
            bs.append(b)
            cs.append(2 ** 8 + n)
            n += 1
    return dict(zip(bs, [chr(n) for n in cs]))


BYTE_ENCODER = bytes_to_unicode()
GPT2_PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}ー]"
CJK_PAT = regex.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?(?:(?!" + CJK + r")\p{L})+| ?(?:(?=\p{L})" + CJK + r")+"
                        r"| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")
EOT = "<|endoftext|>"


def get_pairs(word):
    return set(zip(word, word[1:]))


def bpe(token, bpe_ranks):
    word = tuple(token)
    pairs = get_pairs(word)
    if not pairs:
        return token
    while True:
        bigram = min(pairs, key=lambda pair: bpe_ranks.get(pair, float("inf")))
        if bigram not in bpe_ranks:
            break
        first, second = bigram
        new_word, i = [], 0
        while i < len(word):
            try:
                j = word.index(first, i)
            except ValueError:
                new_word.extend(word[i:])
                break
            else:
                new_word.extend(word[i:j])
                i = j
            if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                new_word.append(first + second)
                i += 2
            else:
                new_word.append(word[i])
                i += 1
        word = tuple(new_word)
        if len(word) == 1:
            break
        pairs = get_pairs(word)
    return " ".join(word)


def gpt2_encode(text, encoder, bpe_ranks, pat):
    """[[id, byte_start, byte_end], ...] as GPT2Tokenizer would give (offsets added here)."""
    out, pos = [], 0
    for piece in split_specials(text, [EOT]):
        if piece == EOT:
            out.append([encoder[EOT], pos, pos + len(EOT)])
            pos += len(EOT)
            continue
        for token in regex.findall(pat, piece):
            token = "".join(BYTE_ENCODER[b] for b in token.encode("utf-8"))
            for t in bpe(token, bpe_ranks).split(" "):
                out.append([encoder.get(t, encoder[EOT]), pos, pos + len(t)])  # one char per byte
                pos += len(t)
    return out


def train_bpe(corpus, num_merges, pat):
    """Slow, obvious BPE training: recount all pairs after every merge."""
    counts = {}
    for part in corpus.split(EOT):
        for piece in regex.findall(pat, part):
            counts[piece] = counts.get(piece, 0) + 1
    words = [(list(p.encode("utf-8")), n) for p, n in counts.items()]
    raw = [bytes([b]) for b in range(256)]
    merges = []
    for _ in range(num_merges):
        stats = {}
        for w, n in words:
            for pair in zip(w, w[1:]):
                stats[pair] = stats.get(pair, 0) + n
        if not stats:
            break
        pair = min(stats, key=lambda p: (-stats[p], p[0], p[1]))
        merged = raw[pair[0]] + raw[pair[1]]
        new_id = raw.index(merged) if merged in raw else len(raw)
        if new_id == len(raw):
            raw.append(merged)
        merges.append((pair, stats[pair]))
        for k, (w, n) in enumerate(words):
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == pair[0] and w[i + 1] == pair[1]:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[k] = (out, n)
    tok = lambda i: "".join(BYTE_ENCODER[b] for b in raw[i])
    vocab = [tok(i) for i in range(len(raw))] + [EOT]
    merge_strs = [[tok(p[0]), tok(p[1])] for p, _ in merges]
    return vocab, merge_strs, [c for _, c in merges]


# ---------------------------------------------------------------- inputs
def make_corpus(rng, n):
    words = ("今天 天气 很好 我们 去 公园 散步 机器 学习 是 人工 智能 的 一个 分支 深度 模型 需要 大量 数据 语言 训练 注意力 "
             "机制 词元 编码 解码 服务器 磁盘 内存 告警 日志 北京 上海 中国 发展 研究 问题 方法 结果 因为 所以 但是 如果 "
             "the model learns tokens it's don't we'll GPU Go 2024 3.5 café naïve").split()
    punct = ["，", "。", "！", "？", "\n", " ", "  ", ", ", ". ", EOT]
    out, count = [], 0
    while count < n:
        w = rng.choice(words)
        if rng.random() < 0.25:
            w += rng.choice(punct)
        elif rng.random() < 0.3:
            w = " " + w
        out.append(w)
        count += len(w)
    return "".join(out)


FRAGMENTS = [
    "Hello", "hello", "HELLO", "world", "UNAFFABLE", "unaffable", "Unaffable", "tokens", "playing", "played",
    "Café", "cafe\u0301", "CAFÉ", "naïve", "résumé", "don't", "it's", "we'll", "I'M", "'s", "'S", "'",
    "今天", "天气很好", "我们去公园散步", "机器学习", "超市", "的", "注意力机制", "[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]",
    "[mask]", "<|endoftext|>", "<|endof", "ΣΟΦΟΣ", "σοφος", "İstanbul", "한국어", "カタカナー", "ひらがな", "ＡＢＣ", "ａｂｃ",
    "GPT2", "gpu", "Go语言", "123", "3.14", "٣٤", "Ⅻ", "½", "2024年", "😀", "👍🏽", "x" * 101, "x" * 100,
    " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\u0085", "\x00", "\x07", "\u200b",
    "\ufeff", "\u00ad", "\u0301", "e\u0301", "\ufffd", "!", "?", ",", ".", "$", "^", "`", "~", "…", "，", "。", "！",
    "「", "」", "—", "(", ")", "#", "@", "%", "&", "*", "¿", "¡", "«", "»",
]

HAND = [
    "我今天去[MASK]超市", "Unaffable 的 token", "Héllo", "hello world's hé\n<|endoftext|>!",
    "Hello world's  test\n\nfoo  ", "price: $3.50!!", "我用Go写代码，很好。", " 中文abc 日本語です",
    "The quick brown fox's jumps over 12 lazy dogs.", "天气很好，我们去公园散步。\n", "",
]


def main():
    os.makedirs(os.path.join(OUT, "gpt2"), exist_ok=True)
    rng = random.Random(20240501)
    vocab = make_vocab()
    with open(os.path.join(OUT, "wordpiece_vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(vocab) + "\n")
    texts = HAND + ["".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 12))) for _ in range(300)]

    corpus = make_corpus(rng, 12000)
    with open(os.path.join(OUT, "bpe_corpus.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write(corpus)

    ref = {"texts": texts, "bert": {}, "bpe": {}}
    ref["bert"]["lower"] = [bert_encode(t, vocab, True) for t in texts]
    ref["bert"]["cased"] = [bert_encode(t, vocab, False) for t in texts]
    ref["bert"]["lower_keep_accents"] = [bert_encode(t, vocab, True, strip_accents=False) for t in texts]
    for name, pat in (("gpt2", GPT2_PAT), ("gpt2-cjk", CJK_PAT)):
        bvocab, merges, counts = train_bpe(corpus, 250, pat)
        encoder = {t: i for i, t in enumerate(bvocab)}
        ranks = {tuple(m): i for i, m in enumerate(merges)}
        ref["bpe"][name] = {
            "pattern": pat.pattern,
            "vocab_size": len(bvocab),
            "merges": merges,
            "counts": counts,
            "encodings": [gpt2_encode(t, encoder, ranks, pat) for t in texts],
        }
        if name == "gpt2":
            with open(os.path.join(OUT, "gpt2", "vocab.json"), "w", encoding="utf-8") as f:
                json.dump(encoder, f, ensure_ascii=False)
            with open(os.path.join(OUT, "gpt2", "merges.txt"), "w", encoding="utf-8", newline="\n") as f:
                f.write("#version: 0.2\n" + "".join(a + " " + b + "\n" for a, b in merges))
    with open(os.path.join(OUT, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
