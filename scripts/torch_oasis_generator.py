# torch_oasis_generator.py: the PyTorch peer of `go test ./models/gan -bench
# 'Generate'` (BenchmarkGenerate, BenchmarkGenerateOASIS), run by
# scripts/gpu-check.sh on a machine with an NVIDIA GPU. It builds the same
# generator as models/gan (OASIS: fc on the label map + z at 1/2^(blocks-1) size,
# residual blocks with SPADE or CLADE, spectral norm on the block convs,
# nearest x2 upsampling, tanh), with the official OASIS parameter names, and
# times eval-mode inference of one image in fp32 with TF32 off.
#
#   python3 scripts/torch_oasis_generator.py [--device cuda|cpu] [--reps 20]
#   python3 scripts/torch_oasis_generator.py --parity DIR
#
# --parity is the PyTorch half of models/gan's TestTorchParity: DIR holds
# generator.safetensors (a catsynth generator checkpoint, f32) and
# io.safetensors (onehot, z and the image catsynth made from them); the
# script loads the checkpoint with strict names, runs the same input and
# prints "max abs diff X".
import argparse
import json
import struct
import sys
import time

import numpy as np

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.backends.cudnn.benchmark = True  # cuDNN picks its fastest algorithms: the fair peer

WIDTHS = [16, 16, 16, 8, 4, 2, 1]  # OASIS channel multipliers of the base width


class Norm(nn.Module):
    """SPADE (3x3 conv MLP) or CLADE (one 1x1 conv) after a parameter-free batch norm."""

    def __init__(self, channels, label_nc, norm, hidden):
        super().__init__()
        self.first_norm = nn.BatchNorm2d(channels, affine=False)
        self.clade = norm == "clade"
        if self.clade:
            self.mlp_gamma = nn.Conv2d(label_nc, channels, 1)
            self.mlp_beta = nn.Conv2d(label_nc, channels, 1)
        else:
            self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, hidden, 3, padding=1), nn.ReLU())
            self.mlp_gamma = nn.Conv2d(hidden, channels, 3, padding=1)
            self.mlp_beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x, seg):
        a = seg if self.clade else self.mlp_shared(seg)
        return self.first_norm(x) * (1 + self.mlp_gamma(a)) + self.mlp_beta(a)


class ResBlock(nn.Module):
    def __init__(self, fin, fout, label_nc, norm, hidden):
        super().__init__()
        mid = min(fin, fout)
        sn = nn.utils.spectral_norm
        self.conv_0 = sn(nn.Conv2d(fin, mid, 3, padding=1))
        self.conv_1 = sn(nn.Conv2d(mid, fout, 3, padding=1))
        self.norm_0 = Norm(fin, label_nc, norm, hidden)
        self.norm_1 = Norm(mid, label_nc, norm, hidden)
        self.learned_shortcut = fin != fout
        if self.learned_shortcut:
            self.conv_s = sn(nn.Conv2d(fin, fout, 1, bias=False))
            self.norm_s = Norm(fin, label_nc, norm, hidden)

    def forward(self, x, seg):
        xs = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2))
        return xs + dx


class Generator(nn.Module):
    def __init__(self, label_nc, z_dim, ch, blocks, hidden, norm):
        super().__init__()
        ws = [m * ch for m in WIDTHS[len(WIDTHS) - blocks - 1:]]
        cond = label_nc + z_dim
        self.z_dim, self.factor = z_dim, 2 ** (blocks - 1)
        self.fc = nn.Conv2d(cond, ws[0], 3, padding=1)
        self.body = nn.ModuleList(ResBlock(ws[i], ws[i + 1], cond, norm, hidden) for i in range(blocks))
        self.conv_img = nn.Conv2d(ws[-1], 3, 3, padding=1)

    def forward(self, onehot, z):
        b, _, h, w = onehot.shape
        seg = torch.cat([z.view(b, self.z_dim, 1, 1).expand(b, self.z_dim, h, w), onehot], 1)  # z first, as OASIS
        x = self.fc(F.interpolate(seg, size=(h // self.factor, w // self.factor), mode="nearest"))
        for i, blk in enumerate(self.body):
            x = blk(x, F.interpolate(seg, size=x.shape[2:], mode="nearest"))
            if i < len(self.body) - 1:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


# The configurations of models/gan's presets and benchmarks (classes, z, base width,
# blocks, SPADE hidden width, norm, size); "oasis" is the official ADE20K model.
CONFIGS = [
    ("oasis ADE20K (official)", 151, 64, 64, 6, 128, "spade", 256),
    ("source64 spade", 23, 64, 16, 5, 64, "spade", 64),
    ("source64 clade", 23, 64, 16, 5, 64, "clade", 64),
    ("source128 spade", 23, 64, 16, 5, 64, "spade", 128),
    ("source128 clade", 23, 64, 16, 5, 64, "clade", 128),
]


def read_safetensors(path):
    """Returns ({name: float32 tensor}, metadata) of an uncompressed F32 file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            sys.exit(f"{path}: {name} is {t['dtype']}, want F32")
        lo, hi = t["data_offsets"]
        arr = np.frombuffer(data[base + lo:base + hi], dtype="<f4").reshape(t["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, meta


def parity(folder):
    weights, meta = read_safetensors(f"{folder}/generator.safetensors")
    c = json.loads(meta["config"])
    # Zero or missing fields take models/gan's defaults (GeneratorConfig.withDefaults).
    g = Generator(c["semantic_nc"], c["z_dim"], c["channels_G"], c["num_res_blocks"],
                  c.get("spade_hidden") or 128, c.get("norm") or "spade")
    if (c.get("spade_ks") or 3) != 3:
        sys.exit("only 3x3 SPADE kernels are built here")
    own = g.state_dict()
    state = {k: v.to(own[k].dtype) if k in own else v for k, v in weights.items()}
    g.load_state_dict(state, strict=True)  # every official name, nothing else
    g.eval()
    io, _ = read_safetensors(f"{folder}/io.safetensors")
    with torch.no_grad():
        img = g(io["onehot"], io["z"])
    diff = (img - io["image"]).abs().max().item()
    sat = (img.abs() > 0.999).float().mean().item()
    print(f"{len(state)} tensors loaded strictly; images {tuple(img.shape)}, mean |x| {img.abs().mean().item():.3f}, "
          f"{100 * sat:.1f}% saturated")
    print(f"max abs diff {diff:.3g}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--parity", metavar="DIR", help="compare with a catsynth generator's output (see above)")
    args = ap.parse_args()
    if args.parity:
        parity(args.parity)
        return
    dev = torch.device(args.device)
    for name, nc, z, ch, blocks, hidden, norm, size in CONFIGS:
        g = Generator(nc, z, ch, blocks, hidden, norm).to(dev).eval()
        params = sum(p.numel() for p in g.parameters())
        labels = torch.randint(0, nc, (1, size, size), device=dev)
        onehot = F.one_hot(labels, nc).permute(0, 3, 1, 2).float()
        zv = torch.randn(1, z, device=dev)
        times = []
        with torch.no_grad():
            for i in range(args.reps + 3):
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                g(onehot, zv)
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                if i >= 3:  # warmup: cuDNN algorithm search, allocator
                    times.append(time.perf_counter() - t0)
        times.sort()
        t = times[len(times) // 2]
        print(f"torch fp32(no tf32) generator {name} {size}px batch 1: {t * 1e3:.2f} ms/image, "
              f"{1 / t:.1f} images/s ({params / 1e6:.2f}M parameters)")


if __name__ == "__main__":
    main()
