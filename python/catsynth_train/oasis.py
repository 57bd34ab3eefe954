"""The OASIS generator and U-Net discriminator as catsynth builds them
(models/gan), with the official OASIS parameter names, so that a
state_dict saves as a catsynth model file without renaming.

Configs are the JSON of models/gan's GeneratorConfig and
DiscriminatorConfig (same keys, same defaults).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

G_WIDTHS = [16, 16, 16, 8, 4, 2, 1]  # generator widths in units of channels_G
D_WIDTHS = [0, 2, 2, 4, 4, 8, 8]  # discriminator encoder widths in units of channels_D ([0]: RGB)
SLOPE = 0.2

# models/gan/presets.go: generator and discriminator of each preset (classes
# and names are filled from the dataset).
PRESETS = {
    "tiny": (dict(z_dim=8, channels_G=4, num_res_blocks=3, height=32, width=32, spade_hidden=16),
             dict(channels_D=4, num_res_blocks=3)),
    "source64": (dict(z_dim=64, channels_G=16, num_res_blocks=5, height=64, width=64, spade_hidden=64),
                 dict(channels_D=32, num_res_blocks=5)),
    "source128": (dict(z_dim=64, channels_G=16, num_res_blocks=5, height=128, width=128, spade_hidden=64),
                  dict(channels_D=32, num_res_blocks=5)),
    "oasis": (dict(z_dim=64, channels_G=64, num_res_blocks=6, height=256, width=256, spade_hidden=128),
              dict(channels_D=64, num_res_blocks=6)),
}


def generator_config(semantic_nc, z_dim, channels_G, num_res_blocks, height, width, spade_hidden=128,
                     spade_ks=3, norm="spade", noise="image", padding="zeros", class_names=None):
    """GeneratorConfig JSON in the field order Go writes it (withDefaults applied;
    padding only when it is not zeros, as Go omits it)."""
    c = dict(semantic_nc=semantic_nc, z_dim=z_dim, channels_G=channels_G, num_res_blocks=num_res_blocks,
             height=height, width=width, spade_hidden=spade_hidden or 128, spade_ks=spade_ks or 3,
             norm=norm or "spade", noise=noise or "image")
    if padding and padding != "zeros":
        c["padding"] = padding
    if class_names:
        c["class_names"] = list(class_names)
    return c


# The generator's border fills; the names are both torch's padding_mode and
# catsynth's GeneratorConfig.Padding.
PADDINGS = ("zeros", "reflect", "replicate")


def conv3(fin, fout, ks, c):
    """A k x k generator conv with padding k//2 filled as the config says."""
    return nn.Conv2d(fin, fout, ks, padding=ks // 2, padding_mode=c.get("padding", "zeros"))


def check_generator_config(c):
    f = 2 ** (c["num_res_blocks"] - 1)
    problems = []
    if not 1 <= c["num_res_blocks"] <= 6:
        problems.append(f"num_res_blocks {c['num_res_blocks']} outside 1..6")
    if c["norm"] not in ("spade", "clade"):
        problems.append(f"unknown norm {c['norm']!r} (want 'spade' or 'clade')")
    if c["noise"] not in ("image", "pixel"):
        problems.append(f"unknown noise {c['noise']!r} (want 'image' or 'pixel')")
    if c.get("padding", "zeros") not in PADDINGS:
        problems.append(f"unknown padding {c['padding']!r} (want one of {', '.join(PADDINGS)})")
    if c["spade_ks"] % 2 == 0:
        problems.append(f"SPADE kernel {c['spade_ks']} is even")
    if c["height"] % f or c["width"] % f or c["height"] < f or c["width"] < f:
        problems.append(f"a {c['num_res_blocks']}-block generator makes sizes that are multiples of {f}; "
                        f"{c['width']}x{c['height']} (WxH) is not")
    if c.get("class_names") and len(c["class_names"]) != c["semantic_nc"]:
        problems.append(f"{len(c['class_names'])} class names for {c['semantic_nc']} label channels")
    return problems


class SPADE(nn.Module):
    """OASIS norms.SPADE: parameter-free BatchNorm, then a per-pixel scale and
    shift predicted from the label map by a conv MLP; CLADE (not in OASIS)
    predicts them with one 1x1 conv instead."""

    def __init__(self, norm_nc, label_nc, hidden, ks, clade, c):
        super().__init__()
        self.first_norm = nn.BatchNorm2d(norm_nc, affine=False)
        self.clade = clade
        if clade:
            self.mlp_gamma = nn.Conv2d(label_nc, norm_nc, 1)
            self.mlp_beta = nn.Conv2d(label_nc, norm_nc, 1)
        else:
            self.mlp_shared = nn.Sequential(conv3(label_nc, hidden, ks, c), nn.ReLU())
            self.mlp_gamma = conv3(hidden, norm_nc, ks, c)
            self.mlp_beta = conv3(hidden, norm_nc, ks, c)

    def forward(self, x, seg):
        a = seg if self.clade else self.mlp_shared(seg)
        return self.first_norm(x) * (1 + self.mlp_gamma(a)) + self.mlp_beta(a)


class ResBlockG(nn.Module):
    """OASIS ResnetBlock_with_SPADE."""

    def __init__(self, fin, fout, label_nc, c):
        super().__init__()
        mid = min(fin, fout)
        sn = nn.utils.spectral_norm
        args = (label_nc, c["spade_hidden"], c["spade_ks"], c["norm"] == "clade", c)
        self.conv_0 = sn(conv3(fin, mid, 3, c))
        self.conv_1 = sn(conv3(mid, fout, 3, c))
        self.norm_0 = SPADE(fin, *args)
        self.norm_1 = SPADE(mid, *args)
        self.learned_shortcut = fin != fout
        if self.learned_shortcut:
            self.conv_s = sn(nn.Conv2d(fin, fout, 1, bias=False))
            self.norm_s = SPADE(fin, *args)

    def forward(self, x, seg):
        xs = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), SLOPE))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), SLOPE))
        return xs + dx


class Generator(nn.Module):
    """OASIS_Generator: fc on the label map and 3D noise at 1/2^(blocks-1)
    size, residual SPADE blocks with nearest x2 upsampling, tanh."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        nb = c["num_res_blocks"]
        ws = [m * c["channels_G"] for m in G_WIDTHS[len(G_WIDTHS) - nb - 1:]]
        cond = c["semantic_nc"] + c["z_dim"]
        self.factor = 2 ** (nb - 1)
        self.fc = conv3(cond, ws[0], 3, c)
        self.body = nn.ModuleList(ResBlockG(ws[i], ws[i + 1], cond, c) for i in range(nb))
        self.conv_img = conv3(ws[-1], 3, 3, c)

    def noise(self, b, h, w, generator=None, device=None):
        """Training noise: one N(0, 1) vector per image (B, Z), or per pixel (B, Z, H, W)."""
        z = self.config["z_dim"]
        if z == 0:
            return None
        shape = (b, z, h, w) if self.config["noise"] == "pixel" else (b, z)
        return torch.randn(shape, generator=generator, device=device)

    def forward(self, onehot, z):
        b, _, h, w = onehot.shape
        seg = onehot
        if self.config["z_dim"] > 0:
            zmap = z if z.dim() == 4 else z.view(b, -1, 1, 1).expand(b, z.shape[1], h, w)
            seg = torch.cat([zmap.to(onehot.dtype), onehot], 1)  # z first, as OASIS
        x = self.fc(F.interpolate(seg, size=(h // self.factor, w // self.factor), mode="nearest"))
        for i, blk in enumerate(self.body):
            s = seg if x.shape[2:] == seg.shape[2:] else F.interpolate(seg, size=x.shape[2:], mode="nearest")
            x = blk(x, s)
            if i < len(self.body) - 1:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
        return torch.tanh(self.conv_img(F.leaky_relu(x, SLOPE)))


class ResBlockD(nn.Module):
    """OASIS residual_block_D. The Sequential indices give the official
    names: conv1.0 (first block), conv1.1 (down), conv1.2 (up), conv2.1."""

    def __init__(self, fin, fout, up, first):
        super().__init__()
        sn = nn.utils.spectral_norm
        self.up, self.first = up, first
        lrelu = nn.LeakyReLU(SLOPE)
        if first:
            self.conv1 = nn.Sequential(sn(nn.Conv2d(fin, fout, 3, padding=1)))
        elif up:
            self.conv1 = nn.Sequential(lrelu, nn.Upsample(scale_factor=2), sn(nn.Conv2d(fin, fout, 3, padding=1)))
        else:
            self.conv1 = nn.Sequential(lrelu, sn(nn.Conv2d(fin, fout, 3, padding=1)))
        self.conv2 = nn.Sequential(nn.LeakyReLU(SLOPE), sn(nn.Conv2d(fout, fout, 3, padding=1)))
        self.learned_shortcut = fin != fout
        if self.learned_shortcut:
            self.conv_s = sn(nn.Conv2d(fin, fout, 1))

    def shortcut(self, x):
        if self.first:
            x = F.avg_pool2d(x, 2)
            return self.conv_s(x) if self.learned_shortcut else x
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            return self.conv_s(x) if self.learned_shortcut else x
        if self.learned_shortcut:
            x = self.conv_s(x)
        return F.avg_pool2d(x, 2)

    def forward(self, x):
        dx = self.conv2(self.conv1(x))
        if not self.up:
            dx = F.avg_pool2d(dx, 2)
        return self.shortcut(x) + dx


class Discriminator(nn.Module):
    """OASIS_Discriminator: a U-Net of residual blocks whose 1x1 head gives
    N+1 logits per pixel (0: fake, c+1: class c)."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        nb, ch = c["num_res_blocks"], c["channels_D"]
        w = [3] + [D_WIDTHS[i] * ch for i in range(1, nb + 1)]
        self.body_down = nn.ModuleList(ResBlockD(w[i], w[i + 1], False, i == 0) for i in range(nb))
        last = len(w) - 1
        up = [ResBlockD(w[last], w[last - 1], True, False)]
        for i in range(1, nb - 1):
            up.append(ResBlockD(2 * w[last - i], w[last - 1 - i], True, False))
        up.append(ResBlockD(2 * w[1], ch, True, False))
        self.body_up = nn.ModuleList(up)
        self.layer_up_last = nn.Conv2d(ch, c["semantic_nc"] + 1, 1)

    def forward(self, x):
        enc = []
        for b in self.body_down:
            x = b(x)
            enc.append(x)
        x = self.body_up[0](x)
        for i in range(1, len(self.body_down)):
            x = self.body_up[i](torch.cat([enc[-1 - i], x], 1))
        return self.layer_up_last(x)
