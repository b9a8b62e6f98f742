#!/usr/bin/env python3
"""PyTorch baseline for divellm's training benchmark: the same tiny GPT-2, timed.

Model: GPT-2 architecture (pre-LN blocks, learned positions, GELU-tanh MLP, LM head tied to
the token embedding), d_model 128, 4 heads, 4 layers, d_ff 512, context 64, vocab 3000,
no dropout. Data: uniformly random token batches [32, 65] (inputs = first 64, targets =
last 64), so no data loading is timed. Optimizer: torch.optim.AdamW(lr=3e-4) with its
defaults (betas 0.9/0.999, eps 1e-8, weight_decay 0.01).

Timed:
  train   — forward + cross-entropy + backward + AdamW step, model.train()
  forward — logits only, model.eval() under torch.no_grad()
each for --steps steps after --warmup untimed ones; tokens/s = batch·seq / median step
(also reported: the fastest step, and process CPU time per step, which stay meaningful
when other processes share the cores).

Prints a human summary on stderr and one JSON line on stdout:
  {"framework":"pytorch","torch":VER,"blas":...,"train_tokens_per_sec":X,"forward_tokens_per_sec":Y, ...}

Run: /usr/bin/python3 bench/torch_gpt.py   (Debian's python3-torch; not the pyenv python)
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

# libgomp's default is to spin while waiting at barriers. On a machine where other work
# competes for the cores (a shared dev box, CI), spinning threads steal the time slices the
# working thread needs and a train step gets 10-20x slower (measured here: 990 ms vs 47 ms
# per step at batch 4 under load 9 on 2 CPUs). Passive waiting costs little on an idle
# machine, so it is the default; set OMP_WAIT_POLICY=ACTIVE to measure torch's stock mode.
# Must be set before torch (and libgomp) is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


class Block(nn.Module):
    def __init__(self, d, heads, d_ff):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc = nn.Linear(d, d_ff)
        self.mlp_proj = nn.Linear(d_ff, d)

    def forward(self, x, causal):
        B, T, D = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(D, dim=2)
        q = q.view(B, T, self.heads, D // self.heads).transpose(1, 2)  # (B, nh, T, hd)
        k = k.view(B, T, self.heads, D // self.heads).transpose(1, 2)
        v = v.view(B, T, self.heads, D // self.heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, nh, T, T)
        att = att.masked_fill(~causal[:T, :T], float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, D)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, seq, d, heads, layers, d_ff):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(seq, d)
        self.h = nn.ModuleList([Block(d, heads, d_ff) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        self.register_buffer("causal", torch.tril(torch.ones(seq, seq, dtype=torch.bool)), persistent=False)
        for name, p in self.named_parameters():  # GPT-2 init
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif "ln_" in name:
                nn.init.ones_(p)
            else:
                nn.init.normal_(p, std=0.02 / (math.sqrt(2 * layers) if name.endswith("proj.weight") else 1))

    def forward(self, ids):
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(T, device=ids.device))
        for block in self.h:
            x = block(x, self.causal)
        return self.ln_f(x) @ self.wte.weight.t()  # (B, T, vocab), tied head


def blas_info():
    """Which BLAS really serves torch's float32 matmuls. Debian's torch is built with
    BLAS_INFO=generic and links libblas.so.3, whichever library the Debian alternative
    points to: the slow reference (netlib) BLAS from libblas3, or OpenBLAS when
    libopenblas0-pthread is installed. Ask the dynamic linker which library provides the
    sgemm_ that libtorch_cpu binds, and OpenBLAS for its build and core type."""
    build = next((p.strip() for p in torch.__config__.show().replace(",", "\n").splitlines()
                  if "BLAS_INFO" in p), "")
    try:
        import ctypes

        torch_lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
        sgemm = ctypes.cast(torch_lib.sgemm_, ctypes.c_void_p)

        class DlInfo(ctypes.Structure):
            _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p),
                        ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]

        info = DlInfo()
        if not ctypes.CDLL(None).dladdr(sgemm, ctypes.byref(info)):
            return "unknown", build
        path = os.path.realpath(info.fname.decode())
        blas_lib = ctypes.CDLL(path)
        if hasattr(blas_lib, "openblas_get_config"):
            for fn in ("openblas_get_config", "openblas_get_corename"):
                getattr(blas_lib, fn).restype = ctypes.c_char_p
            cfg = blas_lib.openblas_get_config().decode().strip()
            core = blas_lib.openblas_get_corename().decode()
            return f"{cfg}, core {core} ({path})", build
        if "/blas/libblas" in path:
            return f"reference netlib BLAS ({path})", build
        return path, build
    except (OSError, AttributeError, ValueError) as e:
        return f"unknown ({e})", build


def median_step(fn, warmup, steps):
    """Median wall time per step, all wall times, and median process CPU time per step
    (CPU time is what the step cost when other processes share the cores)."""
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(times), times, statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=3000)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--d-ff", type=int, default=512)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = GPT(a.vocab, a.seq, a.d_model, a.heads, a.layers, a.d_ff)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr)
    params = sum(p.numel() for p in model.parameters())
    g = torch.Generator().manual_seed(a.seed)
    batches = [torch.randint(0, a.vocab, (a.batch, a.seq + 1), generator=g) for _ in range(4)]
    step = [0]
    losses = []

    def train_step():
        b = batches[step[0] % len(batches)]
        step[0] += 1
        logits = model(b[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), b[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())

    def forward_step():
        with torch.no_grad():
            model(batches[0][:, :-1])

    model.train()
    train_s, train_times, train_cpu = median_step(train_step, a.warmup, a.steps)
    model.eval()
    fwd_s, fwd_times, fwd_cpu = median_step(forward_step, a.warmup, a.steps)

    tokens = a.batch * a.seq
    blas, build = blas_info()
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    result = {
        "framework": "pytorch",
        "torch": torch.__version__,
        "blas": blas,
        "train_tokens_per_sec": round(tokens / train_s, 1),
        "forward_tokens_per_sec": round(tokens / fwd_s, 1),
        "train_step_ms": round(1000 * train_s, 2),
        "forward_step_ms": round(1000 * fwd_s, 2),
        # fastest step: the least disturbed by other processes on a busy machine
        "train_tokens_per_sec_best": round(tokens / min(train_times), 1),
        "forward_tokens_per_sec_best": round(tokens / min(fwd_times), 1),
        # process CPU seconds (all threads) per step: cost independent of contention
        "train_cpu_ms": round(1000 * train_cpu, 2),
        "forward_cpu_ms": round(1000 * fwd_cpu, 2),
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "params": params,
        "config": {"d_model": a.d_model, "heads": a.heads, "layers": a.layers, "d_ff": a.d_ff,
                   "seq": a.seq, "batch": a.batch, "vocab": a.vocab, "lr": a.lr,
                   "warmup": a.warmup, "steps": a.steps},
        "build_blas": build,
        "cpu_capability": torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else "",
        "openblas_coretype": coretype,
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, BLAS: {blas} [{build}]", file=sys.stderr)
    if "reference netlib" in blas:
        print("note: the reference BLAS is unoptimized; for a fair baseline install OpenBLAS "
              "(apt-get install libopenblas0-pthread switches libblas.so.3 to it)", file=sys.stderr)
    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        print(f"note: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: other work is running, "
              "timings are pessimistic", file=sys.stderr)
    if coretype:
        print(f"note: OPENBLAS_CORETYPE={coretype} is set (forces OpenBLAS kernels for that CPU type)", file=sys.stderr)
    print(f"model: {params:,} params; loss {losses[0]:.3f} -> {losses[-1]:.3f} over {len(losses)} steps "
          f"(ln {a.vocab} = {math.log(a.vocab):.3f})", file=sys.stderr)
    print(f"train:   median {1000 * train_s:.1f} ms/step (min {1000 * min(train_times):.1f}, max {1000 * max(train_times):.1f}) "
          f"= {tokens / train_s:,.0f} tokens/s; CPU {1000 * train_cpu:.1f} ms/step", file=sys.stderr)
    print(f"forward: median {1000 * fwd_s:.1f} ms/step (min {1000 * min(fwd_times):.1f}, max {1000 * max(fwd_times):.1f}) "
          f"= {tokens / fwd_s:,.0f} tokens/s; CPU {1000 * fwd_cpu:.1f} ms/step", file=sys.stderr)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
