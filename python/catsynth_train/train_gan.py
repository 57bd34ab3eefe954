"""Trains catsynth's OASIS GAN in PyTorch, on one or many GPUs (or CPU),
and writes files catsynth loads: the EMA generator as a model file
(catsynth_kind oasis-generator) and, beside it, the training state
(oasis-train-state: netG.*, netD.*, netEMA.*, Adam moments optG.*/optD.*)
that `catsynth transfer --source` and `catsynth affinity --method seg`
read. See README.md beside this file and docs/GAN.md, "Training in PyTorch".

  torchrun --standalone --nproc_per_node=N python/catsynth_train/train_gan.py \
      --data DIR --preset source128 --steps 20000 --out m.safetensors.zst
"""
import argparse
import copy
import datetime
import json
import math
import os
import signal
import sys
import threading
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from PIL import Image

import data
import oasis
import stfile

KIND_MODEL, KIND_STATE = "oasis-generator", "oasis-train-state"


def state_path(model):
    """transfer.StatePath: M.safetensors[.zst] -> M.state.safetensors.zst."""
    return side_path(model, ".state.safetensors.zst")


def side_path(model, suffix):
    m = model[:-4] if model.endswith(".zst") else model
    m = m[:-12] if m.endswith(".safetensors") else m
    return m + suffix


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="a folder (classes.txt, images/, labels/) or ade20k:ROOT[:split]")
    ap.add_argument("--out", required=True, help="model file M.safetensors[.zst]; the state goes to M.state.safetensors.zst")
    ap.add_argument("--preset", default="source64", choices=sorted(oasis.PRESETS))
    ap.add_argument("--size", type=int, default=0, help="square training size in pixels (0: the preset's)")
    ap.add_argument("--norm", default="spade", choices=["spade", "clade"])
    ap.add_argument("--noise", default="image", choices=["image", "pixel"])
    ap.add_argument("--padding", default="zeros", choices=list(oasis.PADDINGS),
                    help="how the generator's convolutions fill their border (reflect/replicate: no border to read position from)")
    ap.add_argument("--steps", type=int, required=True, help="total steps (a resumed run continues up to it)")
    ap.add_argument("--batch", type=int, default=4, help="images per process and step")
    ap.add_argument("--lr-g", type=float, default=1e-4)
    ap.add_argument("--lr-d", type=float, default=4e-4)
    ap.add_argument("--beta1", type=float, default=0.0)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--labelmix", type=float, default=10.0, help="LabelMix weight (0: off)")
    ap.add_argument("--ema", type=float, default=0.999, help="EMA decay of the generator")
    ap.add_argument("--d-warmup", type=int, default=0, help="the first K steps train only the discriminator")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resume", action="store_true", help="continue from the state beside --out")
    ap.add_argument("--force", action="store_true", help="overwrite an existing --out without --resume")
    ap.add_argument("--ckpt-every", type=int, default=1000, help="write model and state every K steps (and at the end)")
    ap.add_argument("--sample-every", type=int, default=500, help="write a sample grid every K steps (0: only at the end)")
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--f16", action="store_true", help="store the model file as float16 (the state stays float32)")
    ap.add_argument("--device", default="", help="cuda or cpu (default: cuda when available)")
    ap.add_argument("--amp", default="off", choices=["off", "bf16", "fp16"], help="mixed precision (fp16: CUDA only)")
    ap.add_argument("--workers", type=int, default=2, help="data loading processes per training process")
    ap.add_argument("--check-out", default="", help="write a fixed label map, noise and the EMA generator's image to this file at the end (tests)")
    return ap.parse_args(argv)


class Run:
    """The distributed setting: rank, world size, device."""

    def __init__(self, want):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        cuda = torch.cuda.is_available() if want == "" else want.startswith("cuda")
        if cuda and not torch.cuda.is_available():
            raise SystemExit("--device cuda: this PyTorch sees no CUDA device")
        self.device = torch.device(f"cuda:{local}") if cuda else torch.device("cpu")
        if cuda:
            torch.cuda.set_device(self.device)
        if self.world > 1:
            dist.init_process_group("nccl" if cuda else "gloo")
        self.main = self.rank == 0

    def log(self, *a):
        if self.main:
            print(*a, flush=True)

    def mean(self, values):
        """Averages a list of floats over the processes."""
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        if self.world > 1:
            dist.all_reduce(t)
            t /= self.world
        return t.tolist()


def class_balance(labels, n):
    """models.ClassBalance: weight B*H*W / (present * count[c]) per labelled
    pixel, 0 for ignored ones, counted over the (local) batch."""
    valid = labels >= 0
    count = torch.bincount(labels[valid], minlength=n).to(torch.float32)
    present = (count > 0).sum().clamp(min=1)
    w = labels.numel() / (present * count.clamp(min=1))
    return torch.where(valid, w[labels.clamp(min=0)], torch.zeros((), device=labels.device))


def adv_loss(logits, targets, weights=None):
    """N+1 cross-entropy per pixel (ignore -1), times weights, mean over all pixels."""
    loss = F.cross_entropy(logits.float(), targets, reduction="none", ignore_index=-1)
    if weights is not None:
        loss = loss * weights
    return loss.mean()


def one_hot(labels, n):
    """(B, H, W) labels with -1 ignored -> (B, n, H, W), ignored pixels all zero."""
    oh = F.one_hot(labels.clamp(min=0), n).permute(0, 3, 1, 2).float()
    return oh * (labels >= 0).unsqueeze(1)


def ema_update(ema, live, decay):
    """nn.EMA.Update: parameters averaged, buffers (BN statistics, spectral
    norm vectors) copied."""
    with torch.no_grad():
        params = dict(live.named_parameters())
        current = live.state_dict()
        for name, t in ema.state_dict().items():
            src = params.get(name)
            if src is not None:
                t.mul_(decay).add_(src.detach(), alpha=1 - decay)
            else:
                t.copy_(current[name])


def default_color(i):
    """dataset.DefaultColor: the Pascal VOC palette of i+1."""
    r = g = b = 0
    c = i + 1
    for j in range(8):
        if c == 0:
            break
        r |= (c & 1) << (7 - j)
        g |= ((c >> 1) & 1) << (7 - j)
        b |= ((c >> 2) & 1) << (7 - j)
        c >>= 3
    return (r, g, b)


def to_pil(img):
    a = ((img.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(a)


def write_grid(path, rows):
    """rows of PIL images of equal size, written atomically as PNG."""
    w, h = rows[0][0].size
    grid = Image.new("RGB", (w * max(len(r) for r in rows), h * len(rows)))
    for y, row in enumerate(rows):
        for x, im in enumerate(row):
            grid.paste(im, (x * w, y * h))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    grid.save(tmp, format="PNG")
    os.replace(tmp, path)


class Trainer:
    def __init__(self, args, run, ds):
        self.args, self.run, self.ds = args, run, ds
        names = ds.names
        dev = run.device
        self.trace, self.step = [], 0
        if args.resume:
            sp = state_path(args.out)
            if not os.path.exists(sp):
                raise SystemExit(f"--resume: no training state {sp}")
            self.ck, meta = stfile.read(sp)
            if meta.get("catsynth_kind") != KIND_STATE:
                raise SystemExit(f"{sp}: a {meta.get('catsynth_kind')!r} file, not a GAN training state")
            self.gc = json.loads(meta["config"])
            self.dc = json.loads(meta["config_d"])
            self.tc = json.loads(meta["config_train"])
            self.trace = json.loads(meta.get("losses") or "[]") or []
            self.step = int(meta["step"])
            self.gc = oasis.generator_config(**self.gc)  # fills defaults of older files
            if self.gc["semantic_nc"] != len(names):
                raise SystemExit(f"{sp} has {self.gc['semantic_nc']} label classes, the dataset {args.data} {len(names)}")
            run.log(f"resuming {sp} at step {self.step}")
        else:
            pg, pd = oasis.PRESETS[args.preset]
            pg = dict(pg)
            if args.size:
                pg["height"] = pg["width"] = args.size
            self.gc = oasis.generator_config(semantic_nc=len(names), norm=args.norm, noise=args.noise,
                                             padding=args.padding,
                                             class_names=names, **pg)
            self.dc = dict(semantic_nc=len(names), **pd)
            self.tc = None
        problems = oasis.check_generator_config(self.gc)
        f = 2 ** self.dc["num_res_blocks"]
        if self.gc["height"] % f or self.gc["width"] % f:
            problems.append(f"a {self.dc['num_res_blocks']}-block discriminator needs sides that are multiples of {f}")
        if problems:
            raise SystemExit("model config: " + "; ".join(problems))
        # the configs as the state records them (models.TrainConfig)
        self.tc = dict(batch_size=args.batch * run.world, lr_g=args.lr_g, lr_d=args.lr_d, beta1=args.beta1,
                       beta2=args.beta2, lambda_labelmix=args.labelmix if args.labelmix > 0 else 10,
                       no_labelmix=args.labelmix <= 0, ema_decay=args.ema, d_warmup=args.d_warmup,
                       seed=(self.tc or {}).get("seed", args.seed))
        torch.manual_seed(self.tc["seed"])  # same initial weights on every process
        self.G = oasis.Generator(self.gc).to(dev)
        self.D = oasis.Discriminator(self.dc).to(dev)
        self.EMA = copy.deepcopy(self.G).eval()
        for p in self.EMA.parameters():
            p.requires_grad_(False)
        betas = (args.beta1, args.beta2)
        self.optG = torch.optim.Adam(self.G.parameters(), lr=args.lr_g, betas=betas, eps=1e-8)
        self.optD = torch.optim.Adam(self.D.parameters(), lr=args.lr_d, betas=betas, eps=1e-8)
        if args.resume:
            self.load_state()
            del self.ck
        self.Gd, self.Dd = self.G, self.D
        if run.world > 1:
            ids = [dev.index] if dev.type == "cuda" else None
            self.Gd = torch.nn.parallel.DistributedDataParallel(self.G, device_ids=ids)
            self.Dd = torch.nn.parallel.DistributedDataParallel(self.D, device_ids=ids)
        # a fresh random stream per process and resumed step (noise, LabelMix bits)
        self.rng = torch.Generator(device=dev)
        self.rng.manual_seed(self.tc["seed"] * 1000003 + run.rank * 7919 + self.step)
        self.amp = args.amp
        if self.amp == "fp16" and dev.type != "cuda":
            raise SystemExit("--amp fp16 needs CUDA (bf16 also runs on CPU)")
        self.scalers = [torch.cuda.amp.GradScaler() for _ in range(2)] if self.amp == "fp16" else None

    def check_in_sync(self):
        """DDP keeps the replicas identical; a difference means a gradient
        was not reduced (a bug): say so rather than save one rank's model."""
        flat = torch.cat([p.detach().float().flatten() for p in list(self.G.parameters()) + list(self.D.parameters())])
        ref = flat.clone()
        dist.broadcast(ref, 0)
        d = torch.tensor([(flat - ref).abs().max().item()], device=flat.device)
        dist.all_reduce(d, op=dist.ReduceOp.MAX)
        if d.item() > 0:
            raise SystemExit(f"the {self.run.world} processes' weights differ by {d.item():g}")
        self.run.log(f"weights identical on all {self.run.world} processes")

    def load_state(self):
        ck, dev = self.ck, self.run.device
        for prefix, net in (("netG.", self.G), ("netD.", self.D), ("netEMA.", self.EMA)):
            own = net.state_dict()
            sd = {k[len(prefix):]: v for k, v in ck.items() if k.startswith(prefix)}
            missing, extra = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
            if missing or extra:
                raise SystemExit(f"{state_path(self.args.out)}: {prefix}* does not match the model: "
                                 f"missing {missing[:5]}, unknown {extra[:5]}")
            net.load_state_dict({k: v.to(own[k].dtype) for k, v in sd.items()})
        for prefix, net, opt in (("optG.", self.G, self.optG), ("optD.", self.D, self.optD)):
            for name, p in net.named_parameters():
                m, v = ck.get(prefix + "m." + name), ck.get(prefix + "v." + name)
                if m is None or v is None:
                    continue  # a state without moments: fresh ones, as the Go trainer does
                opt.state[p] = {"step": torch.tensor(float(self.step)), "exp_avg": m.to(dev).view_as(p),
                                "exp_avg_sq": v.to(dev).view_as(p)}

    def autocast(self):
        if self.amp == "off":
            return torch.autocast(device_type=self.run.device.type, enabled=False)
        return torch.autocast(device_type=self.run.device.type, dtype=torch.bfloat16 if self.amp == "bf16" else torch.float16)

    def backward_step(self, loss, opt, i):
        if self.scalers:
            self.scalers[i].scale(loss).backward()
            self.scalers[i].step(opt)
            self.scalers[i].update()
        else:
            loss.backward()
            opt.step()
        opt.zero_grad(set_to_none=True)

    def train_step(self, real, labels):
        """One OASIS iteration (models/gan iteration.run): G, then D with
        LabelMix, then the EMA."""
        n = self.gc["semantic_nc"]
        b, _, h, w = real.shape
        y = one_hot(labels, n)
        wt = class_balance(labels, n)
        tgt_real = torch.where(labels >= 0, labels + 1, torch.full_like(labels, -1))
        l = {}
        if self.step >= self.tc["d_warmup"]:
            for p in self.D.parameters():
                p.requires_grad_(False)
            with self.autocast():
                # D's module itself: its weights get no gradient in this half
                loss_g = adv_loss(self.D(self.Gd(y, self.G.noise(b, h, w, self.rng, real.device))), tgt_real, wt)
            self.backward_step(loss_g, self.optG, 0)
            for p in self.D.parameters():
                p.requires_grad_(True)
            l["g"] = loss_g.detach()
        with torch.no_grad(), self.autocast():
            fake = self.G(y, self.G.noise(b, h, w, self.rng, real.device)).float()
        with self.autocast():
            parts = [fake, real]
            if not self.tc["no_labelmix"]:
                bits = torch.randint(0, 2, (n + 1,), generator=self.rng, device=real.device).float()
                mask = bits[labels + 1].unsqueeze(1)  # one bit per class (and one for ignored pixels)
                parts.append(mask * real + (1 - mask) * fake)
            out = self.Dd(torch.cat(parts)).float()  # one forward: DDP reduces once
            d_fake, d_real = out[:b], out[b:2 * b]
            loss_fake = adv_loss(d_fake, torch.zeros_like(labels))
            loss_real = adv_loss(d_real, tgt_real, wt)
            loss_d = loss_fake + loss_real
            l["d_fake"], l["d_real"] = loss_fake.detach(), loss_real.detach()
            if not self.tc["no_labelmix"]:
                d_mix = out[2 * b:]
                lm = self.tc["lambda_labelmix"] * F.mse_loss(mask * d_real + (1 - mask) * d_fake, d_mix)
                loss_d = loss_d + lm
                l["label_mix"] = lm.detach()
        self.backward_step(loss_d, self.optD, 1)
        ema_update(self.EMA, self.G, self.tc["ema_decay"])
        self.step += 1
        keys = sorted(l)
        vals = self.run.mean([float(l[k]) for k in keys])
        return dict(zip(keys, vals))

    def save(self):
        """Model file (EMA generator) and state beside it; rank 0 only."""
        if not self.run.main:
            return
        a = self.args
        step = str(self.step)
        stfile.write(a.out, self.EMA.state_dict(), {"format": "pt", "config": json.dumps(self.gc),
                                                   "class_names": json.dumps(self.gc["class_names"]),
                                                   "catsynth_kind": KIND_MODEL, "step": step}, f16=a.f16)
        t = {}
        for prefix, net in (("netG.", self.G), ("netD.", self.D), ("netEMA.", self.EMA)):
            t.update({prefix + k: v for k, v in net.state_dict().items()})
        for prefix, net, opt in (("optG.", self.G, self.optG), ("optD.", self.D, self.optD)):
            for name, p in net.named_parameters():
                st = opt.state.get(p, {})
                t[prefix + "m." + name] = st.get("exp_avg", torch.zeros_like(p))
                t[prefix + "v." + name] = st.get("exp_avg_sq", torch.zeros_like(p))
        meta = {"format": "pt", "config": json.dumps(self.gc), "config_d": json.dumps(self.dc),
                "config_train": json.dumps(self.tc), "losses": json.dumps(self.trace),
                "catsynth_kind": KIND_STATE, "step": step}
        stfile.write(state_path(a.out), t, meta)

    def samples(self, path, real, labels):
        """Label maps, real images, EMA samples with two fixed seeds."""
        colors = self.ds.colors or [default_color(i) for i in range(self.gc["semantic_nc"])]
        pal = np.array([(0, 0, 0)] + list(colors), dtype=np.uint8)
        rows = [[Image.fromarray(pal[(lab + 1).cpu().numpy()]) for lab in labels], [to_pil(x) for x in real]]
        b, _, h, w = real.shape
        with torch.no_grad():
            for seed in (1, 1001):
                g = torch.Generator(device=real.device)
                g.manual_seed(seed)
                rows.append([to_pil(x) for x in self.EMA(one_hot(labels, self.gc["semantic_nc"]), self.EMA.noise(b, h, w, g, real.device))])
        write_grid(path, rows)

    def write_check(self, path, real, labels):
        """Reference values for the Go side: the EMA generator's image of
        labels and a fixed noise (with both inputs), and the discriminator's
        logits of real in eval mode with their class-balanced N+1 loss."""
        b, h, w = labels.shape
        n = self.gc["semantic_nc"]
        g = torch.Generator(device=labels.device)
        g.manual_seed(12345)
        y = one_hot(labels, n)
        z = self.EMA.noise(b, h, w, g, labels.device)
        self.D.eval()
        with torch.no_grad():
            img = self.EMA(y, z)
            logits = self.D(real)
            tgt = torch.where(labels >= 0, labels + 1, torch.full_like(labels, -1))
            loss = adv_loss(logits, tgt, class_balance(labels, n))
        self.D.train()
        t = {"onehot": y, "image": img, "real": real, "labels": labels, "d_logits": logits, "d_loss": loss.reshape(1)}
        if z is not None:
            t["z"] = z
        stfile.write(path, t, {"step": str(self.step)})


def fmt_duration(s):
    return str(datetime.timedelta(seconds=int(s)))


def main(argv=None):
    args = parse_args(argv)
    run = Run(args.device)
    if os.path.exists(args.out) and not (args.resume or args.force):
        raise SystemExit(f"{args.out} exists: pass --resume to continue it or --force to start over")
    try:
        pg = oasis.PRESETS[args.preset][0]
        size = args.size or pg["height"]
        if args.resume and os.path.exists(state_path(args.out)):
            _, meta = stfile.read(state_path(args.out))
            c = json.loads(meta["config"])
            size = c["height"]
        ds = data.PairDataset(args.data, size, size, flip=True, seed=args.seed)
        ds.load(0)  # a bad first file fails here, with its name
    except data.DataError as e:
        raise SystemExit(f"dataset: {e}")
    tr = Trainer(args, run, ds)
    if tr.gc["height"] != size:
        raise SystemExit(f"state is {tr.gc['height']} px")
    npar = sum(p.numel() for p in tr.G.parameters()), sum(p.numel() for p in tr.D.parameters())
    run.log(f"{len(ds)} images, {len(ds.names)} classes, {tr.gc['width']}x{tr.gc['height']} px, "
            f"G {npar[0] / 1e6:.2f}M D {npar[1] / 1e6:.2f}M parameters, {run.world} process(es) x batch {args.batch} "
            f"on {run.device.type}{' amp ' + tr.amp if tr.amp != 'off' else ''}")
    sampler = torch.utils.data.distributed.DistributedSampler(ds, num_replicas=run.world, rank=run.rank,
                                                              shuffle=True, seed=tr.tc["seed"], drop_last=True) \
        if run.world > 1 else torch.utils.data.RandomSampler(ds, generator=torch.Generator().manual_seed(tr.tc["seed"]))
    loader = torch.utils.data.DataLoader(ds, batch_size=args.batch, sampler=sampler, drop_last=len(ds) >= args.batch * run.world,
                                         num_workers=args.workers, pin_memory=run.device.type == "cuda")
    if len(loader) == 0:
        raise SystemExit(f"dataset: {len(ds)} images are fewer than {run.world} process(es) x batch {args.batch}")
    dev = run.device
    sample_real, sample_lab = [t.to(dev) for t in (lambda b: (torch.stack([x for x, _ in b]), torch.stack([y for _, y in b])))(
        [ds.load(i) for i in range(min(len(ds), args.batch))])]
    sample_dir = side_path(args.out, "_samples")
    stop = {"sig": None}
    signal.signal(signal.SIGTERM, lambda s, f: stop.update(sig=s))
    start, start_step, epoch = time.time(), tr.step, tr.step // max(len(loader), 1)
    try:
        while tr.step < args.steps and stop["sig"] is None:
            ds.epoch = epoch
            if run.world > 1:
                sampler.set_epoch(epoch)
            elif hasattr(sampler, "generator"):
                sampler.generator.manual_seed(tr.tc["seed"] * 1000 + epoch)
            for real, labels in loader:
                if tr.step >= args.steps or stop["sig"] is not None:
                    break
                l = tr.train_step(real.to(dev, non_blocking=True), labels.to(dev, non_blocking=True))
                if not all(math.isfinite(v) for v in l.values()):
                    raise SystemExit(f"step {tr.step}: non-finite loss {l}; the last checkpoint on disk is the last good one")
                tr.trace.append(l)
                done = tr.step - start_step
                if run.main and (tr.step % args.log_every == 0 or tr.step == args.steps):
                    el = time.time() - start
                    ips = done * args.batch * run.world / max(el, 1e-9)
                    eta = el / done * (args.steps - tr.step)
                    losses = "  ".join(f"{k} {v:.4f}" for k, v in sorted(l.items()))
                    print(f"step {tr.step}/{args.steps}  {losses}  {ips:.1f} img/s  ETA {fmt_duration(eta)}", flush=True)
                if run.main and (tr.step == args.steps or (args.sample_every and tr.step % args.sample_every == 0)):
                    tr.samples(os.path.join(sample_dir, f"samples_{tr.step:06d}.png"), sample_real, sample_lab)
                if tr.step == args.steps or (args.ckpt_every and tr.step % args.ckpt_every == 0):
                    tr.save()
            epoch += 1
    except KeyboardInterrupt:
        stop["sig"] = signal.SIGINT
    if stop["sig"] is not None:
        run.log(f"stopped at step {tr.step}: writing a checkpoint")
        tr.save()
    if run.main:
        if args.check_out:
            tr.write_check(args.check_out, sample_real[:2], sample_lab[:2])
        print(f"wrote {args.out} and {state_path(args.out)} (step {tr.step})", flush=True)
    if run.world > 1:
        tr.check_in_sync()
        leave_process_group(run)


def leave_process_group(run, timeout=60):
    """Barrier, then destroy the process group. Everything is saved and the
    ranks agree by now, but gloo's teardown hangs now and then (PyTorch
    issue 75097): past timeout seconds this process says so and exits."""
    done = threading.Event()

    def teardown():
        dist.barrier()
        dist.destroy_process_group()
        done.set()

    threading.Thread(target=teardown, daemon=True).start()
    if not done.wait(timeout):
        print(f"rank {run.rank}: the process group did not shut down within {timeout} s; exiting (the files are written)",
              file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except data.DataError as e:
        # from a loader process, the message carries that process's traceback: keep its last line
        msg = str(e).strip().splitlines()[-1]
        sys.exit("dataset: " + msg.removeprefix("data.DataError: "))
