# bench_peers.py: catsynth's CPU benchmarks beside their peers (numpy on
# OpenBLAS, PyTorch on CPU), interleaved in one run: for every row the two
# contenders alternate (catsynth, peer, catsynth, peer, ...) and the median of
# each is kept, so both see the same machine load. Driven by
# scripts/bench-peers.sh (`make bench-peers`), which builds the Go side.
#
#   /usr/bin/python3 scripts/bench_peers.py BINDIR [--quick] [--only SUBSTR] [--reps N] [--out FILE]
#   /usr/bin/python3 scripts/bench_peers.py --peer ROW [--quick]   # one peer timing (internal)
#
# Peer configuration (docs/BENCHMARKS.md explains why): PyTorch with
# torch.set_num_threads(2) and OMP_WAIT_POLICY=passive (spinning OpenMP threads
# make it 3-40x slower on a loaded machine); numpy with OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE removed from its environment (they pin a slow kernel).
# Each peer timing runs in its own process, like each catsynth timing.
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3"  # Debian's python: torch and numpy import there
TORCH_THREADS = 2


def peer_env():
    env = dict(os.environ)
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(k, None)
    env["OMP_WAIT_POLICY"] = "passive"
    return env


# ---- peers (run with --peer in a child process) ----

def median_time(f, reps, warm=2):
    for _ in range(warm):
        f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def torch_setup():
    import torch
    torch.set_num_threads(TORCH_THREADS)
    return torch


def peer_matmul(n, quick):
    import numpy as np
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    t = median_time(lambda: a @ b, 3 if quick else 10)
    return 2 * n ** 3 / t / 1e9


def peer_conv(kind, quick):
    torch = torch_setup()
    import torch.nn.functional as F
    n, c, hw, o = 4, 64, 32, 64
    x = torch.randn(n, c, hw, hw)
    w = torch.randn(o, c, 3, 3)
    gy = torch.randn(n, o, hw, hw)
    f = {
        "fwd": lambda: F.conv2d(x, w, padding=1),
        "grad-in": lambda: torch.nn.grad.conv2d_input(x.shape, w, gy, padding=1),
        "grad-w": lambda: torch.nn.grad.conv2d_weight(x, w.shape, gy, padding=1),
    }[kind]
    with torch.no_grad():
        t = median_time(f, 5 if quick else 20)
    return 2 * n * o * c * 9 * hw * hw / t / 1e9


def peer_generator(size, norm, quick):
    torch = torch_setup()
    import torch.nn.functional as F
    sys.path.insert(0, HERE)
    from torch_oasis_generator import Generator
    # source64 / source128: 23 classes, z 64, base width 16, 5 blocks, SPADE hidden 64
    g = Generator(23, 64, 16, 5, 64, norm).eval()
    labels = torch.randint(0, 23, (1, size, size))
    onehot = F.one_hot(labels, 23).permute(0, 3, 1, 2).float()
    z = torch.randn(1, 64)
    with torch.no_grad():
        t = median_time(lambda: g(onehot, z), 2 if quick else 5, warm=1)
    return 1 / t


def peer_oasis(quick):
    """Seconds per image of the official OASIS ADE20K generator (151 classes,
    base width 64, 6 blocks, SPADE hidden 128) at 256 px, batch 1."""
    torch = torch_setup()
    import torch.nn.functional as F
    sys.path.insert(0, HERE)
    from torch_oasis_generator import Generator
    g = Generator(151, 64, 64, 6, 128, "spade").eval()
    labels = (torch.arange(256 * 256) // 11 % 151).reshape(1, 256, 256)  # BenchmarkGenerateOASIS's map
    onehot = F.one_hot(labels, 151).permute(0, 3, 1, 2).float()
    z = torch.randn(1, 64)
    with torch.no_grad():
        return median_time(lambda: g(onehot, z), 1 if quick else 3, warm=1)


def peer_fid(n, quick):
    import numpy as np
    d = 2048
    rng = np.random.default_rng(n)

    def low_rank(n):  # the same construction as eval's lowRankSet
        mix = rng.standard_normal((64, d))
        return rng.standard_normal((n, 64)) @ mix + 0.1 * rng.standard_normal((n, d))

    x, y = low_rank(n), low_rank(n)

    def fid():
        # The usual FID with scipy.linalg.sqrtm(S1 @ S2) when scipy exists; without it the
        # eigh-based equivalent (sqrt(S1) S2 sqrt(S1) is symmetric and similar to S1 S2).
        m1, m2 = x.mean(0), y.mean(0)
        s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
        try:
            import scipy.linalg
            tr = np.trace(scipy.linalg.sqrtm(s1 @ s2).real)
        except ImportError:
            v, q = np.linalg.eigh(s1)
            r = (q * np.sqrt(np.maximum(v, 0))) @ q.T
            tr = np.sqrt(np.maximum(np.linalg.eigvalsh(r @ s2 @ r), 0)).sum()
        return ((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr

    return median_time(fid, 1 if quick else 3, warm=1)


def torch_inception_v3():
    """InceptionV3 (Szegedy et al. 2016, as Keras builds it: conv without bias + batch norm
    + ReLU, no auxiliary head) up to its 2048-d global average pool, with random weights:
    the same layer shapes as catsynth's converted backbone, since torchvision is not
    installed here."""
    torch = torch_setup()
    nn = torch.nn

    class C(nn.Sequential):
        def __init__(self, i, o, k, s=1, p=0):
            super().__init__(nn.Conv2d(i, o, k, s, p, bias=False), nn.BatchNorm2d(o, eps=1e-3), nn.ReLU())

    class Cat(nn.Module):
        def __init__(self, *branches):
            super().__init__()
            self.b = nn.ModuleList(branches)

        def forward(self, x):
            return torch.cat([b(x) for b in self.b], 1)

    def avg(i, o):
        return nn.Sequential(nn.AvgPool2d(3, 1, 1), C(i, o, 1))

    def block_a(i, pool):
        return Cat(C(i, 64, 1), nn.Sequential(C(i, 48, 1), C(48, 64, 5, p=2)),
                   nn.Sequential(C(i, 64, 1), C(64, 96, 3, p=1), C(96, 96, 3, p=1)), avg(i, pool))

    def block_c(c7):
        return Cat(C(768, 192, 1), nn.Sequential(C(768, c7, 1), C(c7, c7, (1, 7), p=(0, 3)), C(c7, 192, (7, 1), p=(3, 0))),
                   nn.Sequential(C(768, c7, 1), C(c7, c7, (7, 1), p=(3, 0)), C(c7, c7, (1, 7), p=(0, 3)),
                                 C(c7, c7, (7, 1), p=(3, 0)), C(c7, 192, (1, 7), p=(0, 3))), avg(768, 192))

    class Split(nn.Module):  # a 1x3 and a 3x1 conv side by side on one input
        def __init__(self, i):
            super().__init__()
            self.a, self.b = C(i, 384, (1, 3), p=(0, 1)), C(i, 384, (3, 1), p=(1, 0))

        def forward(self, x):
            return torch.cat([self.a(x), self.b(x)], 1)

    def block_e(i):
        return Cat(C(i, 320, 1), nn.Sequential(C(i, 384, 1), Split(384)),
                   nn.Sequential(C(i, 448, 1), C(448, 384, 3, p=1), Split(384)), avg(i, 192))

    return nn.Sequential(
        C(3, 32, 3, 2), C(32, 32, 3), C(32, 64, 3, p=1), nn.MaxPool2d(3, 2),
        C(64, 80, 1), C(80, 192, 3), nn.MaxPool2d(3, 2),
        block_a(192, 32), block_a(256, 64), block_a(288, 64),
        Cat(C(288, 384, 3, 2), nn.Sequential(C(288, 64, 1), C(64, 96, 3, p=1), C(96, 96, 3, 2)), nn.MaxPool2d(3, 2)),
        block_c(128), block_c(160), block_c(160), block_c(192),
        Cat(nn.Sequential(C(768, 192, 1), C(192, 320, 3, 2)),
            nn.Sequential(C(768, 192, 1), C(192, 192, (1, 7), p=(0, 3)), C(192, 192, (7, 1), p=(3, 0)), C(192, 192, 3, 2)),
            nn.MaxPool2d(3, 2)),
        block_e(1280), block_e(2048), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()


def peer_inception(quick):
    torch = torch_setup()
    net = torch_inception_v3()
    x = torch.rand(4, 3, 299, 299)
    with torch.no_grad():
        assert net(x).shape == (4, 2048)
        t = median_time(lambda: net(x), 1 if quick else 3, warm=1)
    return t / 4 * 1e3


def peer_unet(config_file, quick):
    """ms per SDM U-Net forward at batch 2 (one guided step), the model built
    by scripts/torch_sdm_unet.py from the config the Go benchmark logged."""
    torch = torch_setup()
    sys.path.insert(0, HERE)
    import torch_sdm_unet as sdm
    import torch.nn.functional as F
    cfg = json.load(open(config_file))
    model = sdm.UNet(cfg).eval()
    size, s = cfg["image_size"], cfg["num_classes"]
    x = torch.randn(2, cfg["in_channels"], size, size)
    y = F.one_hot(torch.randint(0, s, (2, size, size)), s).permute(0, 3, 1, 2).float()
    y[1] = 0
    t = torch.tensor([500.0, 500.0])
    with torch.no_grad():
        return median_time(lambda: model(x, t, y), 3 if quick else 10) * 1e3


def peer_gan_step(preset, norm, batch, quick):
    """ms per OASIS training step (G, then D with LabelMix, then the EMA) of
    the repo's PyTorch trainer (python/catsynth_train), the same preset,
    norm, batch and 23 classes as models/gan's BenchmarkTrainStep."""
    torch = torch_setup()
    sys.path.insert(0, os.path.join(ROOT, "python", "catsynth_train"))  # its modules import each other by name
    from types import SimpleNamespace
    import train_gan
    args = train_gan.parse_args(["--data", "unused", "--out", "/nonexistent/unused.safetensors", "--preset", preset,
                                 "--norm", norm, "--steps", "1", "--batch", str(batch), "--device", "cpu"])
    tr = train_gan.Trainer(args, train_gan.Run("cpu"), SimpleNamespace(names=[f"class{i}" for i in range(23)]))
    h, w = tr.gc["height"], tr.gc["width"]
    i = torch.arange(batch * h * w)
    labels = ((i // 5) % 23).view(batch, h, w)  # the Go benchmark's map
    real = torch.rand(batch, 3, h, w) * 2 - 1
    return median_time(lambda: tr.train_step(real, labels), 2 if quick else 5, warm=1) * 1e3


def run_peer(row, quick):
    kind, *args = row.split(":")
    if kind == "matmul":
        return peer_matmul(int(args[0]), quick)
    if kind == "conv":
        return peer_conv(args[0], quick)
    if kind == "generator":
        return peer_generator(int(args[0]), args[1], quick)
    if kind == "oasis":
        return peer_oasis(quick)
    if kind == "fid":
        return peer_fid(int(args[0]), quick)
    if kind == "inception":
        return peer_inception(quick)
    if kind == "gan_step":
        return peer_gan_step(args[0], args[1], int(args[2]), quick)
    if kind == "unet":
        return peer_unet(":".join(args), quick)
    raise SystemExit(f"bench_peers: unknown peer row {row!r}")


def peer_settings():
    out = subprocess.run([PY, "-c", (
        "import torch, numpy; torch.set_num_threads(%d);"
        "print('torch', torch.__version__, 'threads', torch.get_num_threads(), '| numpy', numpy.__version__)"
    ) % TORCH_THREADS], env=peer_env(), capture_output=True, text=True)
    def has(mod):
        return subprocess.run([PY, "-c", "import " + mod], capture_output=True).returncode == 0
    scipy = "scipy present" if has("scipy") else "no scipy (FID peer: numpy eigh)"
    tv = "torchvision present" if has("torchvision") else "no torchvision"
    blas = subprocess.run([PY, "-c", "import numpy; numpy.show_config()"], env=peer_env(), capture_output=True, text=True).stdout
    lib = "openblas" if "openblas" in blas.lower() else "blas: see numpy.show_config()"
    return (f"{out.stdout.strip() or out.stderr.strip()}; {lib}; {scipy}; {tv}; "
            f"OMP_WAIT_POLICY=passive, torch.set_num_threads({TORCH_THREADS}), "
            f"OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for the peers")


# ---- catsynth side ----

CONFIG_LINE = re.compile(r"^\s*bench_test\.go:\d+: config (\{.*\})$")
BENCH_LINE = re.compile(r"^(Benchmark\S+)\s+\d+\s+(.*)$")


def go_bench_metric(binary, pattern, benchtime, unit, env=None, config_out=None):
    """Runs one Go benchmark binary and returns the value reported in unit;
    with config_out, also saves the model config the benchmark logged there."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([binary, "-test.run", "^$", "-test.bench", pattern, "-test.benchtime", benchtime],
                       capture_output=True, text=True, env=e, cwd=PKG_OF[binary])  # Go benchmarks open files relative to their package
    for line in p.stdout.splitlines():
        c = CONFIG_LINE.match(line)  # the log follows the result line
        if c and config_out:
            with open(config_out, "w") as f:
                f.write(c.group(1))
    for line in p.stdout.splitlines():
        m = BENCH_LINE.match(line)
        if not m:
            continue
        fields = m.group(2).split()
        for v, u in zip(fields[::2], fields[1::2]):
            if u == unit:
                return float(v)
    raise RuntimeError(f"{os.path.basename(binary)} {pattern}: no {unit} in output:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")


PKG_OF = {}  # test binary -> its package directory


def catsynth_bench(cli, only, quick):
    p = subprocess.run([cli, "bench", "--backend", "cpu", "--json", "--time", "0.5s" if quick else "2s", "--only", only],
                       capture_output=True, text=True)
    for line in p.stdout.splitlines():
        r = json.loads(line)
        if r["name"].startswith(only):
            return r["gflops"]
    raise RuntimeError(f"catsynth bench --only {only!r}: {p.stdout}{p.stderr}")


def rows(bins, quick):
    cli, gan, ev, dif = bins["catsynth"], bins["gan"], bins["eval"], bins["diffusion"]
    cpu = {"CATSYNTH_BACKEND": "cpu"}
    gen_n = "2x" if quick else "5x"
    R = []
    for n in (1024, 2048):
        R.append(("kernels", f"matmul {n}^3", "GFLOP/s", True, "numpy (OpenBLAS)",
                  lambda n=n: catsynth_bench(cli, f"matmul {n}^3", quick), f"matmul:{n}"))
    for kind, name in (("fwd", "conv3x3 B4"), ("grad-in", "conv3x3 grad-input B4"), ("grad-w", "conv3x3 grad-weight B4")):
        R.append(("kernels", f"conv3x3 B4 C64 32^2 {kind}", "GFLOP/s", True, "torch",
                  lambda name=name: catsynth_bench(cli, name, quick), f"conv:{kind}"))
    for size in (64, 128, 256):
        for norm in ("spade", "clade"):
            R.append(("models", f"generator {size} px {norm.upper()}", "img/s", True, "torch",
                      lambda size=size, norm=norm: go_bench_metric(
                          gan, f"^BenchmarkGenerate$/^{size}px$/^{norm}$", gen_n, "images/s", cpu),
                      f"generator:{size}:{norm}"))
    R.append(("models", "official OASIS ADE20K generator, 256 px SPADE (74.3M parameters)", "s/image", False, "torch",
              lambda: go_bench_metric(gan, "^BenchmarkGenerateOASIS$", "1x" if quick else "2x", "ms/image",
                                      dict(cpu, CATSYNTH_BENCH_LARGE="1")) / 1e3,
              "oasis"))
    R.append(("models", "InceptionV3 features (batch 4, 299 px)", "ms/image", False, "torch (same layer shapes, by hand)",
              lambda: go_bench_metric(ev, "^BenchmarkFeatures$/^inception_v3$", "1x" if quick else "3x", "ms/image", cpu),
              "inception"))
    unet_cfg = os.path.join(os.path.dirname(cli), "unet32.json")
    R.append(("models", "diffusion U-Net sdm32 forward, batch 2 (one guided step)", "ms", False, "torch (scripts/torch_sdm_unet.py)",
              lambda: go_bench_metric(dif, "^BenchmarkUNetForward32pxGuided$", "3x" if quick else "10x", "ns/op", cpu,
                                      config_out=unet_cfg) / 1e6,
              f"unet:{unet_cfg}"))
    R.append(("models", "GAN training step source64 CLADE batch 4", "ms/step", False, "torch (python/catsynth_train)",
              lambda: go_bench_metric(gan, "^BenchmarkTrainStep$/^source64_clade_b4$", "1x" if quick else "3x", "ms/step", cpu),
              "gan_step:source64:clade:4"))
    for n in ((50, 500) if quick else (50, 500, 5000)):
        R.append(("fid", f"FID statistics 2048-d, n={n} per set", "s", False, "numpy",
                  lambda n=n: go_bench_metric(ev, f"^BenchmarkFID$/^d2048_n{n}$", "1x", "ns/op") / 1e9, f"fid:{n}"))
    return R


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def fmt(v):
    if v is None:
        return "-"
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bindir", nargs="?")
    ap.add_argument("--peer")
    ap.add_argument("--quick", action="store_true", help="one repetition each, shorter timings, no n=5000 FID")
    ap.add_argument("--only", default="", help="run only rows whose name contains this")
    ap.add_argument("--reps", type=int, default=0, help="alternations per row (default 3, --quick 1)")
    ap.add_argument("--out", help="also write the markdown here")
    a = ap.parse_args()
    if a.peer:
        print(json.dumps(run_peer(a.peer, a.quick)))
        return
    if not a.bindir:
        ap.error("BINDIR (built by scripts/bench-peers.sh) is required")
    bins = {k: os.path.join(a.bindir, k) for k in ("catsynth", "gan", "eval", "diffusion")}
    PKG_OF[bins["gan"]] = os.path.join(ROOT, "models", "gan")
    PKG_OF[bins["eval"]] = os.path.join(ROOT, "eval")
    PKG_OF[bins["diffusion"]] = os.path.join(ROOT, "models", "diffusion")
    reps = a.reps or (1 if a.quick else 3)
    cpu = open("/proc/cpuinfo").read()
    model = re.search(r"model name\s*:\s*(.*)", cpu).group(1)
    lines = [f"# catsynth vs peers, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC", "",
             f"Machine: {os.cpu_count()} CPUs, {model}; catsynth on its CPU backend. "
             f"Peers: {peer_settings()}. Each cell is the median of {reps} alternating run(s) "
             f"(catsynth, peer, catsynth, peer, ...), each in its own process."
             + (" Quick mode." if a.quick else ""), ""]
    print("\n".join(lines), flush=True)
    table = None
    for group, name, unit, higher, peer_name, cat, peer in rows(bins, a.quick):
        if a.only and a.only not in name:
            continue
        if group != table:
            if table is not None:
                lines += ["", f"load average after: {loadavg()}", ""]
                print(lines[-2], flush=True)
            table = group
            lines += [f"## {group}", "", f"load average before: {loadavg()}", "",
                      "| what | unit | catsynth | peer | ratio (catsynth/peer, >1: catsynth ahead) |", "|---|---|---|---|---|"]
            print("\n".join(lines[-6:]), flush=True)
        cv, pv = [], []
        for _ in range(reps):
            try:
                cv.append(cat())
            except Exception as e:  # a failing row is reported, the run goes on
                print(f"catsynth {name}: {e}", file=sys.stderr)
            if peer:
                p = subprocess.run([PY, os.path.abspath(__file__), "--peer", peer] + (["--quick"] if a.quick else []),
                                   env=peer_env(), capture_output=True, text=True)
                if p.returncode == 0:
                    pv.append(float(p.stdout.strip().splitlines()[-1]))
                else:
                    print(f"peer {name}: {p.stderr[-1500:]}", file=sys.stderr)
        c = statistics.median(cv) if cv else None
        pm = statistics.median(pv) if pv else None
        ratio = "-"
        if c and pm:
            ratio = f"{(c / pm if higher else pm / c):.2f}"
        peer_cell = f"{peer_name} {fmt(pm)}" if peer else "no peer (see docs/BENCHMARKS.md)"
        lines.append(f"| {name} | {unit} | {fmt(c)} | {peer_cell} | {ratio} |")
        print(lines[-1], flush=True)
    if table is not None:
        lines += ["", f"load average after: {loadavg()}", ""]
        print(lines[-2], flush=True)
    if a.out:
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, a.out)
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
