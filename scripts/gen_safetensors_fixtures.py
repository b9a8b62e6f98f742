#!/usr/bin/env python3
"""Write testdata/safetensors/dtypes.safetensors: the same float32 values converted by
PyTorch to F16, BF16 and F64 (plus PyTorch's own widening back to F32), and integer and
bool tensors. The Go tests check that llm/safetensors decodes them exactly as PyTorch
does and that its float32 → F16/BF16 rounding matches PyTorch bit for bit.

Run: /usr/bin/python3 scripts/gen_safetensors_fixtures.py
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_py import load_file, save_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "testdata", "safetensors")


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(20240229)
    special = torch.tensor([
        1.0, -2.5, 65504.0, 65519.0, 65520.0, 1e6, -1e-10, 0.1, 1 / 3,
        2.0 ** -14, 2.0 ** -24, 1023 * 2.0 ** -24, 2.0 ** -25, 1.5 * 2.0 ** -25, 3 * 2.0 ** -25,
        1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11,  # binary16 ties
        float.fromhex("0x1.01p0"), float.fromhex("0x1.03p0"),  # bfloat16 ties
        2.0 ** -133, 3e38, -0.0, 0.0, float("inf"), float("-inf"), float("nan"),
    ], dtype=torch.float32)
    rand = torch.cat([torch.randn(200, generator=g) * s for s in (1e-6, 1e-3, 1.0, 100.0, 3e4)])
    src = torch.cat([special, rand]).reshape(-1, 2)
    tensors = {
        "src": src,
        "f16": src.half(),
        "bf16": src.bfloat16(),
        "f64": src.double(),
        "f16_as_f32": src.half().float(),
        "bf16_as_f32": src.bfloat16().float(),
        "i64": torch.tensor([[-(2 ** 63), -1, 0, 2 ** 63 - 1]], dtype=torch.int64),
        "i32": torch.tensor([-(2 ** 31), -1, 0, 2 ** 31 - 1], dtype=torch.int32),
        "i16": torch.tensor([-32768, -1, 0, 32767], dtype=torch.int16),
        "i8": torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 1, 128, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, False, True]),
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0, 3),
    }
    path = os.path.join(OUT, "dtypes.safetensors")
    save_file(tensors, path, {"generator": "scripts/gen_safetensors_fixtures.py", "torch": torch.__version__})
    back, meta = load_file(path)
    bits = {torch.float16: torch.int16, torch.bfloat16: torch.int16, torch.float32: torch.int32, torch.float64: torch.int64}
    for k, v in tensors.items():  # the reader round-trips every tensor bit for bit
        assert back[k].dtype == v.dtype and back[k].shape == v.shape, k
        assert torch.equal(back[k].view(bits.get(v.dtype, v.dtype)), v.view(bits.get(v.dtype, v.dtype))), k
    print(f"wrote {path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes, torch {torch.__version__}")


if __name__ == "__main__":
    main()
