"""The dataset layouts catsynth reads (package dataset), for training.

  folder   DIR/classes.txt, DIR/images/NAME.{jpg,jpeg,png}, DIR/labels/NAME.png
           (what `catsynth data synth` writes; dataset.OpenFolder)
  ade20k   ROOT/images/training/*.jpg with ROOT/annotations/training/*.png,
           value 0 unlabelled, v in 1..150 class v-1 (dataset.OpenADE20K)

A sample is the largest centred crop with the output's aspect ratio, resized
to H x W (images bilinear, labels nearest), flipped left-right with
probability 1/2 as `catsynth train gan` does. Labels are class indices with
-1 for ignored pixels.
"""
import os
import re

import numpy as np
import torch
from PIL import Image

IGNORE = -1
IMAGE_EXTS = (".jpg", ".jpeg", ".png")


class DataError(Exception):
    pass


def parse_classes(path):
    """Reads classes.txt as dataset.ParseClasses: "NAME", "NAME #RRGGBB" or
    "NAME R G B" per line; blank lines and '#' lines are comments. Returns
    (names, colours or None when not every class has one)."""
    names, colors = [], []
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            fields = s.split()
            col = None
            if len(fields) >= 2 and fields[-1].startswith("#"):
                h = fields[-1][1:]
                if not re.fullmatch(r"[0-9a-fA-F]{6}", h):
                    raise DataError(f"{path}: line {ln}: colour {fields[-1]!r} is not #RRGGBB")
                col, fields = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)), fields[:-1]
            elif len(fields) >= 4 and all(re.fullmatch(r"\d+", x) for x in fields[-3:]):
                col, fields = tuple(int(x) for x in fields[-3:]), fields[:-3]
                if max(col) > 255:
                    raise DataError(f"{path}: line {ln}: colour component out of 0..255")
            names.append(" ".join(fields))
            colors.append(col)
    if not names:
        raise DataError(f"{path}: no classes")
    n = sum(c is not None for c in colors)
    if n not in (0, len(names)):
        raise DataError(f"{path}: {n} of {len(names)} classes have a colour: give all or none")
    return names, (colors if n else None)


def decode_label(path, n_classes, colors=None, lut=None):
    """Class indices (H, W) int64 of a PNG label map, by dataset.DecodeLabel's
    rules: 8-bit gray v is class v (or lut[v]), 255 ignored when there are
    fewer than 255 classes; 16-bit gray, 65535 ignored; paletted through the
    class colours, else the index; RGB through the class colours."""
    im = Image.open(path)
    mode = im.mode
    if mode == "P" and colors is not None:
        im, mode = im.convert("RGB"), "RGB"
    if mode in ("RGB", "RGBA"):
        if colors is None:
            raise DataError(f"{path}: an RGB label map needs classes with colours in classes.txt")
        rgb = np.asarray(im.convert("RGB"), dtype=np.int64)
        key = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        table = {(r << 16) | (g << 8) | b: i for i, (r, g, b) in enumerate(colors)}
        out = np.full(key.shape, -2, dtype=np.int64)
        for k, i in table.items():
            out[key == k] = i
        out[(key == 0) & (out == -2)] = IGNORE  # black, when no class has it: ignored
        bad = np.argwhere(out == -2)
        if len(bad):
            y, x = bad[0]
            raise DataError(f"{path}: pixel ({x},{y}): colour #{int(key[y, x]):06x} is not a class colour")
        return out
    v = np.asarray(im, dtype=np.int64)
    if mode in ("I;16", "I;16B", "I"):
        out = np.where(v == 65535, IGNORE, v)
    elif lut is not None:
        out = lut[v]
    else:
        out = v.copy()
        if n_classes < 255 and mode in ("L", "P"):
            out[v == 255] = IGNORE
    bad = np.argwhere((out >= n_classes) | (out < IGNORE))
    if len(bad):
        y, x = bad[0]
        raise DataError(f"{path}: pixel ({x},{y}): label {int(v[y, x])} is not a class (the dataset has {n_classes} classes)")
    return out


ADE20K_CLASSES = 150


def open_dataset(spec):
    """Returns (items [(name, image path, label path)], class names, colours, lut)
    for "DIR" (the folder format) or "ade20k:ROOT[:split]"."""
    if spec.startswith("ade20k:"):
        parts = spec.split(":")
        root, split = parts[1], (parts[2] if len(parts) > 2 else "training")
        img_dir, lab_dir = os.path.join(root, "images", split), os.path.join(root, "annotations", split)
        names_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ade20k_classes.txt")
        names = None
        if os.path.exists(names_file):
            names, _ = parse_classes(names_file)
        names = names or [f"ade{i}" for i in range(ADE20K_CLASSES)]
        lut = np.full(65536, ADE20K_CLASSES, dtype=np.int64)  # beyond 150: an error
        lut[0] = IGNORE
        lut[1:ADE20K_CLASSES + 1] = np.arange(ADE20K_CLASSES)
        items = []
        for dirpath, _, files in os.walk(img_dir):
            for f in files:
                if f.endswith(".jpg"):
                    rel = os.path.relpath(os.path.join(dirpath, f), img_dir)[:-4]
                    lp = os.path.join(lab_dir, rel + ".png")
                    if os.path.exists(lp):
                        items.append((rel, os.path.join(img_dir, rel + ".jpg"), lp))
        if not items:
            raise DataError(f"{img_dir}: no images with label maps under {lab_dir}")
        return sorted(items), names, None, lut
    cpath = os.path.join(spec, "classes.txt")
    if not os.path.exists(cpath):
        raise DataError(f"{cpath}: missing classes file (one class name per line)")
    names, colors = parse_classes(cpath)
    img_dir, lab_dir = os.path.join(spec, "images"), os.path.join(spec, "labels")
    for d in (img_dir, lab_dir):
        if not os.path.isdir(d):
            raise DataError(f"{d}: missing folder (the folder format is images/, labels/, classes.txt)")
    labels = {os.path.splitext(f)[0]: os.path.join(lab_dir, f) for f in os.listdir(lab_dir) if f.lower().endswith(".png")}
    items, seen = [], set()
    for f in sorted(os.listdir(img_dir)):
        stem, ext = os.path.splitext(f)
        if ext.lower() in IMAGE_EXTS and stem in labels and stem not in seen:
            seen.add(stem)
            items.append((stem, os.path.join(img_dir, f), labels[stem]))
    if not items:
        raise DataError(f"{spec}: no labelled images (images/NAME.{{jpg,png}} with labels/NAME.png)")
    return items, names, colors, None


def center_crop_box(w, h, out_w, out_h):
    aspect = out_w / out_h
    cw, ch = (h * aspect, h) if w / h > aspect else (w, w / aspect)
    x0, y0 = (w - cw) / 2, (h - ch) / 2
    return (x0, y0, x0 + cw, y0 + ch)


class PairDataset(torch.utils.data.Dataset):
    """Image/label pairs resized to (H, W): image (3, H, W) in [-1, 1], labels (H, W)."""

    def __init__(self, spec, h, w, flip=True, seed=0):
        self.items, self.names, self.colors, self.lut = open_dataset(spec)
        self.h, self.w, self.flip, self.seed = h, w, flip, seed
        self.epoch = 0

    def __len__(self):
        return len(self.items)

    def load(self, i, flip=False):
        name, ip, lp = self.items[i]
        try:
            img = Image.open(ip).convert("RGB")
        except OSError as e:
            raise DataError(f"{ip}: not a readable image: {e}")
        lab = decode_label(lp, len(self.names), self.colors, self.lut)
        if (img.width, img.height) != (lab.shape[1], lab.shape[0]):
            raise DataError(f"{lp}: label map is {lab.shape[1]}x{lab.shape[0]}, the image {img.width}x{img.height}")
        if img.width < self.w or img.height < self.h:
            raise DataError(f"{ip}: {img.width}x{img.height} is smaller than the training size {self.w}x{self.h}")
        box = center_crop_box(img.width, img.height, self.w, self.h)
        img = img.resize((self.w, self.h), Image.BILINEAR, box=box)
        # nearest label of each output pixel centre (dataset.Place)
        ys = np.clip((box[1] + (np.arange(self.h) + 0.5) * (box[3] - box[1]) / self.h).astype(int), 0, lab.shape[0] - 1)
        xs = np.clip((box[0] + (np.arange(self.w) + 0.5) * (box[2] - box[0]) / self.w).astype(int), 0, lab.shape[1] - 1)
        lab = lab[ys][:, xs]
        x = torch.from_numpy(np.asarray(img, dtype=np.float32).copy()).permute(2, 0, 1) / 127.5 - 1
        y = torch.from_numpy(lab.copy())
        if flip:
            x, y = x.flip(-1), y.flip(-1)
        return x, y

    def __getitem__(self, i):
        g = np.random.default_rng([self.seed, self.epoch, i])  # per sample, whatever the worker
        return self.load(i, self.flip and g.integers(2) == 1)
