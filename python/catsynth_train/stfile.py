"""Safetensors files as catsynth reads and writes them (nn/safetensors).

catsynth stores every tensor as F32 (F16 for shipped models), string
metadata, tensors sorted by name with contiguous offsets. A file whose name
ends in .zst is zstd-compressed when a compressor is at hand (the Python
module zstandard, or the zstd program); catsynth recognises zstd by its
magic bytes, so an uncompressed file under a .zst name still reads.
Writes go through a temp file and a rename: a reader never sees half a
file, and an interrupted write leaves the previous one intact.
"""
import json
import os
import shutil
import struct
import subprocess
import tempfile

import numpy as np
import torch

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "BF16": None, "I64": "<i8", "I32": "<i4"}


def _compress(data):
    try:
        import zstandard

        return zstandard.ZstdCompressor(level=3).compress(data)
    except ImportError:
        pass
    if shutil.which("zstd"):
        return subprocess.run(["zstd", "-q", "-3", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
    return data  # readable all the same (see the module comment)


def _decompress(data, path):
    try:
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    except ImportError:
        pass
    if shutil.which("zstd"):
        return subprocess.run(["zstd", "-q", "-d", "-c"], input=data, stdout=subprocess.PIPE, check=True).stdout
    raise SystemExit(f"{path}: zstd-compressed, and neither the zstandard module nor the zstd program is installed")


def encode(tensors, metadata, f16=False):
    """Returns the bytes of a safetensors file of {name: tensor} (any float or
    int dtype, stored as F32, or F16 with f16) with string metadata."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs, off = [], 0
    dt, np_dt = ("F16", "<f2") if f16 else ("F32", "<f4")
    for name in sorted(tensors):
        arr = tensors[name].detach().to("cpu", torch.float32).numpy().astype(np_dt)
        b = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def write(path, tensors, metadata, f16=False):
    """Writes a safetensors file atomically (temp file beside path, then rename)."""
    data = encode(tensors, metadata, f16)
    if path.endswith(".zst"):
        data = _compress(data)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".tmp-", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def read(path):
    """Returns ({name: float32 tensor}, metadata) of a safetensors file (plain or zstd)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == ZSTD_MAGIC:
        data = _decompress(data, path)
    if len(data) < 8:
        raise SystemExit(f"{path}: too short for a safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise SystemExit(f"{path}: header of {n} bytes runs past the end of the file ({len(data)} bytes)")
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    for name, t in header.items():
        lo, hi = t["data_offsets"]
        raw = data[base + lo:base + hi]
        if t["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        elif t["dtype"] in DTYPES:
            arr = np.frombuffer(raw, dtype=DTYPES[t["dtype"]]).astype(np.float32)
        else:
            raise SystemExit(f"{path}: tensor {name} has dtype {t['dtype']}, not a float or int kind")
        out[name] = torch.from_numpy(arr.reshape(t["shape"]).copy())
    return out, meta
