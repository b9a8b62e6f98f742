"""Hand-written safetensors reader/writer for the fixture generators (no `safetensors`
package is installed here). Layout follows the reference Rust implementation that
Hugging Face's save_pretrained uses:

    [8 bytes] N, little-endian u64 header length
    [N bytes] compact JSON header, "__metadata__" first, padded with spaces to a multiple of 8
    [rest]    tensor data, ordered by dtype size (largest first) then by name, contiguous

Only torch tensors on a little-endian host are supported.
"""
import json
import struct
import sys

import torch

assert sys.byteorder == "little", "safetensors is little-endian; this writer copies native bytes"

DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
TORCH = {v: k for k, v in DTYPES.items()}


def _raw(t):
    t = t.detach().contiguous().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.view(torch.int16)  # numpy has no bfloat16: copy the bit patterns
    return t.numpy().tobytes()


def save_file(tensors, path, metadata=None):
    """Write {name: torch.Tensor} to path; metadata is a {str: str} dict or None."""
    items = []
    for name, t in tensors.items():
        if t.dtype not in DTYPES:
            raise ValueError(f"{name}: unsupported dtype {t.dtype}")
        items.append((name, DTYPES[t.dtype], list(t.shape), _raw(t)))
    items.sort(key=lambda it: (-SIZES[it[1]], it[0]))
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    offset = 0
    for name, dtype, shape, raw in items:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    hb = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for _, _, _, raw in items:
            f.write(raw)


def load_file(path):
    """Read a safetensors file into ({name: torch.Tensor}, metadata)."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    data = buf[8 + n :]
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = TORCH[info["dtype"]]
        view = torch.int16 if dt in (torch.float16, torch.bfloat16) else dt
        t = torch.frombuffer(bytearray(data[b:e]), dtype=view) if e > b else torch.empty(0, dtype=view)
        out[name] = t.view(dt).reshape(info["shape"]).clone()
    return out, metadata
