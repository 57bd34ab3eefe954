#!/usr/bin/env python3
"""SDM's U-Net in PyTorch, for parity tests and checkpoint conversion.

The modules follow the official code's layout and names
(github.com/WeilunWang/semantic-diffusion-model, guided_diffusion/unet.py):
ResBlock / SDMResBlock / SPADEGroupNorm / AttentionBlock (legacy QKV
order), so state_dict keys match an official checkpoint's.

  torch_sdm_unet.py --parity DIR --config JSON [--seed N]
      builds the model for the catsynth config JSON with random weights
      (every tensor, the zero-initialised ones too), runs it on a random x_t,
      timesteps and one-hot label map, and writes DIR/weights.safetensors
      and DIR/io.safetensors (x, t, y, out), and the state_dict as
      DIR/model.pt the way SDM saves checkpoints.
  torch_sdm_unet.py --bench --config JSON [--reps N] [--device cuda]
      times the U-Net in PyTorch (scripts/bench_peers.py has the same model as a peer row)
  torch_sdm_unet.py --convert MODEL.pt OUT.safetensors [--config JSON]
      converts an official checkpoint (a bare state_dict saved with
      th.save, e.g. ema_0.9999_best.pt) to float32 safetensors, with the
      config (if given) in the metadata, as catsynth reads it.

Only torch and numpy are needed (safetensors is written by hand).
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch as th
import torch.nn as nn
import torch.nn.functional as F


def write_safetensors(path, tensors, meta=None):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].detach().cpu().float().numpy()).astype("<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if meta:
        header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def gcd_groups(cfg, ch):
    return math.gcd(cfg["norm_groups"], ch)


def timestep_embedding(t, dim, max_period=10000):
    half = dim // 2
    freqs = th.exp(-math.log(max_period) * th.arange(start=0, end=half, dtype=th.float32) / half)
    args = t[:, None].float() * freqs[None]
    emb = th.cat([th.cos(args), th.sin(args)], dim=-1)
    if dim % 2:
        emb = th.cat([emb, th.zeros_like(emb[:, :1])], dim=-1)
    return emb


class SPADEGroupNorm(nn.Module):
    def __init__(self, cfg, ch):
        super().__init__()
        self.norm = nn.GroupNorm(gcd_groups(cfg, ch), ch, affine=False)
        hid = cfg["spade_hidden"]
        self.mlp_shared = nn.Sequential(nn.Conv2d(cfg["num_classes"], hid, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hid, ch, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hid, ch, 3, padding=1)

    def forward(self, x, seg):
        x = self.norm(x)
        seg = F.interpolate(seg, size=x.shape[2:], mode="nearest")
        a = self.mlp_shared(seg)
        return x * (1 + self.mlp_gamma(a)) + self.mlp_beta(a)


class Resample(nn.Module):
    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def forward(self, x):
        if self.mode == "down":
            return F.avg_pool2d(x, 2, 2)
        if self.mode == "up":
            return F.interpolate(x, scale_factor=2, mode="nearest")
        return x


class ResBlock(nn.Module):
    """ResBlock (spade=False) or SDMResBlock (spade=True), official names."""

    def __init__(self, cfg, ch, out, spade, mode=None):
        super().__init__()
        self.spade, self.ss = spade, cfg["use_scale_shift_norm"]
        ted = 4 * cfg["num_channels"]
        if spade:
            self.in_norm = SPADEGroupNorm(cfg, ch)
            self.in_layers = nn.Sequential(nn.SiLU(), nn.Conv2d(ch, out, 3, padding=1))
            self.out_norm = SPADEGroupNorm(cfg, out)
            self.out_layers = nn.Sequential(nn.SiLU(), nn.Dropout(0), nn.Conv2d(out, out, 3, padding=1))
        else:
            self.in_layers = nn.Sequential(nn.GroupNorm(gcd_groups(cfg, ch), ch), nn.SiLU(), nn.Conv2d(ch, out, 3, padding=1))
            self.out_layers = nn.Sequential(nn.GroupNorm(gcd_groups(cfg, out), out), nn.SiLU(), nn.Dropout(0),
                                            nn.Conv2d(out, out, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(ted, 2 * out if self.ss else out))
        self.upd = Resample(mode)
        self.skip_connection = nn.Identity() if ch == out else nn.Conv2d(ch, out, 1)

    def forward(self, x, y, emb):
        if self.spade:
            h = self.in_layers[0](self.in_norm(x, y))
        else:
            h = self.in_layers[1](self.in_layers[0](x))
        h, x = self.upd(h), self.upd(x)
        h = self.in_layers[-1](h)
        e = self.emb_layers(emb)[..., None, None]
        norm = (lambda z: self.out_norm(z, y)) if self.spade else self.out_layers[0]
        rest = self.out_layers if self.spade else self.out_layers[1:]
        if self.ss:
            scale, shift = th.chunk(e, 2, dim=1)
            h = norm(h) * (1 + scale) + shift
        else:
            h = norm(h + e)
        return self.skip_connection(x) + rest(h)


class AttentionBlock(nn.Module):
    def __init__(self, cfg, ch):
        super().__init__()
        self.heads = ch // cfg["num_head_channels"]
        self.norm = nn.GroupNorm(gcd_groups(cfg, ch), ch)
        self.qkv = nn.Conv1d(ch, 3 * ch, 1)
        self.proj_out = nn.Conv1d(ch, ch, 1)

    def forward(self, x, y, emb):
        b, c, *sp = x.shape
        x = x.reshape(b, c, -1)
        qkv = self.qkv(self.norm(x))
        bs, width, length = qkv.shape
        ch = width // (3 * self.heads)
        q, k, v = qkv.reshape(bs * self.heads, ch * 3, length).split(ch, dim=1)
        scale = 1 / math.sqrt(math.sqrt(ch))
        w = th.softmax(th.einsum("bct,bcs->bts", q * scale, k * scale), dim=-1)
        a = th.einsum("bts,bcs->bct", w, v).reshape(bs, -1, length)
        return (x + self.proj_out(a)).reshape(b, c, *sp)


class Plain(nn.Module):
    """A module that ignores labels and embedding (conv stem, Downsample)."""

    def __init__(self, **mods):
        super().__init__()
        for k, m in mods.items():
            setattr(self, k, m)
        self.names = list(mods)


class Seq(nn.ModuleList):
    def forward(self, x, y, emb):
        for m in self:
            if isinstance(m, nn.Conv2d):
                x = m(x)
            elif isinstance(m, Plain) and m.names == ["op"]:
                x = m.op(x)
            elif isinstance(m, Plain) and m.names == ["conv"]:
                x = m.conv(F.interpolate(x, scale_factor=2, mode="nearest"))
            else:
                x = m(x, y, emb)
        return x


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        mc, mult = cfg["num_channels"], cfg["channel_mult"]
        ted = 4 * mc
        att = {cfg["image_size"] // r for r in cfg["attention_resolutions"]}
        self.mc = mc
        self.time_embed = nn.Sequential(nn.Linear(mc, ted), nn.SiLU(), nn.Linear(ted, ted))
        ch = input_ch = mult[0] * mc
        self.input_blocks = nn.ModuleList([Seq([nn.Conv2d(cfg["in_channels"], ch, 3, padding=1)])])
        chans, ds = [ch], 1
        for level, m in enumerate(mult):
            for _ in range(cfg["num_res_blocks"]):
                layers = [ResBlock(cfg, ch, m * mc, False)]
                ch = m * mc
                if ds in att:
                    layers.append(AttentionBlock(cfg, ch))
                self.input_blocks.append(Seq(layers))
                chans.append(ch)
            if level != len(mult) - 1:
                if cfg["resblock_updown"]:
                    self.input_blocks.append(Seq([ResBlock(cfg, ch, ch, False, "down")]))
                else:
                    self.input_blocks.append(Seq([Plain(op=nn.Conv2d(ch, ch, 3, stride=2, padding=1))]))
                chans.append(ch)
                ds *= 2
        self.middle_block = Seq([ResBlock(cfg, ch, ch, True), AttentionBlock(cfg, ch), ResBlock(cfg, ch, ch, True)])
        self.output_blocks = nn.ModuleList()
        for level, m in list(enumerate(mult))[::-1]:
            for i in range(cfg["num_res_blocks"] + 1):
                layers = [ResBlock(cfg, ch + chans.pop(), mc * m, True)]
                ch = mc * m
                if ds in att:
                    layers.append(AttentionBlock(cfg, ch))
                if level and i == cfg["num_res_blocks"]:
                    if cfg["resblock_updown"]:
                        layers.append(ResBlock(cfg, ch, ch, True, "up"))
                    else:
                        layers.append(Plain(conv=nn.Conv2d(ch, ch, 3, padding=1)))
                    ds //= 2
                self.output_blocks.append(Seq(layers))
        out_ch = 2 * cfg["in_channels"] if cfg["learn_sigma"] else cfg["in_channels"]
        self.out = nn.Sequential(nn.GroupNorm(gcd_groups(cfg, ch), ch), nn.SiLU(), nn.Conv2d(input_ch, out_ch, 3, padding=1))

    def forward(self, x, t, y):
        emb = self.time_embed(timestep_embedding(t, self.mc))
        hs, h = [], x
        for m in self.input_blocks:
            h = m(h, y, emb)
            hs.append(h)
        h = self.middle_block(h, y, emb)
        for m in self.output_blocks:
            h = m(th.cat([h, hs.pop()], dim=1), y, emb)
        return self.out(h)


def parity(out_dir, cfg, seed):
    th.manual_seed(seed)
    model = UNet(cfg).eval()
    with th.no_grad():
        for name, p in model.state_dict().items():
            if p.dim() > 1:  # conv / linear weights: unit-variance outputs
                p.copy_(th.randn_like(p) / math.sqrt(p[0].numel()))
            elif name.endswith(".weight"):  # group norm scales
                p.copy_(1 + 0.1 * th.randn_like(p))
            else:
                p.copy_(0.1 * th.randn_like(p))
    b, s, size = 2, cfg["num_classes"], cfg["image_size"]
    x = th.randn(b, cfg["in_channels"], size, size)
    t = th.tensor([3.0, 871.0])
    y = F.one_hot(th.randint(0, s, (b, size, size)), s).permute(0, 3, 1, 2).float()
    with th.no_grad():
        out = model(x, t, y)
    write_safetensors(f"{out_dir}/weights.safetensors", model.state_dict(), {"config": json.dumps(cfg), "format": "pt"})
    write_safetensors(f"{out_dir}/io.safetensors", {"x": x, "t": t, "y": y, "out": out})
    th.save(model.state_dict(), f"{out_dir}/model.pt")  # as SDM saves checkpoints, for --convert
    print(f"torch {th.__version__}: {len(model.state_dict())} tensors, output {tuple(out.shape)}, |out| max {out.abs().max().item():.4g}")


def bench(cfg, reps, device="cpu"):
    """Milliseconds per U-Net forward at batch 2 (a guided step: the
    conditional and null maps together) and per guided DDIM image at 10,
    25 and 50 steps (the sampler's own arithmetic is negligible beside it).
    On CUDA, fp32 with TF32 off (as catsynth's WGSL computes)."""
    import time
    dev = th.device(device)
    if dev.type == "cuda":
        th.backends.cuda.matmul.allow_tf32 = False
        th.backends.cudnn.allow_tf32 = False
    sync = th.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    model = UNet(cfg).eval().to(dev)
    size, s = cfg["image_size"], cfg["num_classes"]
    x = th.randn(2, cfg["in_channels"], size, size, device=dev)
    y = F.one_hot(th.randint(0, s, (2, size, size)), s).permute(0, 3, 1, 2).float().to(dev)
    y[1] = 0
    t = th.tensor([500.0, 500.0], device=dev)
    times = []
    with th.no_grad():
        model(x, t, y)  # warm-up
        sync()
        for _ in range(reps):
            start = time.perf_counter()
            model(x, t, y)
            sync()
            times.append(time.perf_counter() - start)
    ms = 1000 * sorted(times)[len(times) // 2]
    print(json.dumps({"peer": f"torch {th.__version__}", "device": str(dev), "threads": th.get_num_threads(), "forward_batch2_ms": round(ms, 2),
                      "ddim_ms": {str(k): round(k * ms, 1) for k in (10, 25, 50)}}))


def convert(src, dst, cfg_json):
    try:
        sd = th.load(src, map_location="cpu")
    except Exception as e:  # truncated, not a torch file, ...
        sys.exit(f"{src}: not a readable PyTorch checkpoint ({type(e).__name__}: {e})")
    if isinstance(sd, dict) and "state_dict" in sd:
        sd = sd["state_dict"]
    if not isinstance(sd, dict) or not all(isinstance(v, th.Tensor) for v in sd.values()):
        sys.exit(f"{src}: holds a {type(sd).__name__}, not a state_dict of tensors")
    sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()}
    missing = [k for k in ("time_embed.0.weight", "input_blocks.0.0.weight", "out.2.weight") if k not in sd]
    if missing:
        sys.exit(f"{src}: not an SDM U-Net state_dict (no {', '.join(missing)})")
    if cfg_json:
        try:
            json.loads(cfg_json)
        except ValueError as e:
            sys.exit(f"--config is not JSON: {e}")
    meta = {"format": "pt", "catsynth_kind": "sdm-unet"}
    if cfg_json:
        meta["config"] = cfg_json
    tmp = dst + ".tmp"
    write_safetensors(tmp, sd, meta)
    os.replace(tmp, dst)  # a reader never sees half a file
    print(f"wrote {dst}: {len(sd)} tensors, {sum(v.numel() for v in sd.values()) / 1e6:.1f}M values")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parity", metavar="DIR")
    ap.add_argument("--convert", nargs=2, metavar=("MODEL_PT", "OUT_SAFETENSORS"))
    ap.add_argument("--config", help="catsynth diffusion config JSON")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bench", action="store_true", help="time the U-Net of --config (forward at batch 2, guided DDIM images)")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--device", default="cpu", help="--bench on cpu or cuda")
    a = ap.parse_args()
    th.set_num_threads(2)
    if a.parity:
        if not a.config:
            sys.exit("--parity needs --config")
        parity(a.parity, json.loads(a.config), a.seed)
    elif a.convert:
        convert(a.convert[0], a.convert[1], a.config)
    elif a.bench:
        if not a.config:
            sys.exit("--bench needs --config")
        bench(json.loads(a.config), a.reps, a.device)
    else:
        ap.print_help()


if __name__ == "__main__":
    main()
