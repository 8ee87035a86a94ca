#!/usr/bin/python3
"""Reference outputs for dvp's image transforms, computed with torchvision 0.14 on PIL images
(what the MoCo / DVP code ran), PIL 9.4 and scipy.ndimage.

Usage: torchvision_parity.py CASES_FILE OUT_DIR

CASES_FILE has one JSON object per line: {"name", "input" (image path), "mode" ("RGB"|"L"),
"op", "args" (list)}. For each case this writes OUT_DIR/<name>.bin (uint8 HWC for 8-bit results,
float32 little-endian CHW for tensors) and one line in OUT_DIR/results.txt:
  <name> u8|f32 <width> <height> <channels>
  <name> SKIP <reason>
  <name> ERROR <message>
Driven by the JUnit test TorchvisionParityTest; the data it makes is regenerated on every run.
"""
import json
import math
import sys

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode
from torchvision.transforms.autoaugment import _apply_op

try:
    from scipy import ndimage
except ImportError:  # the DVP AutoAugment warps need scipy; those cases are skipped without it
    ndimage = None


def dvp_affine(img, m):
    """4uiiurz1/DVP auto_augment.py: transform_matrix_offset_center + per-channel affine_transform."""
    arr = np.array(img)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    o_x = float(arr.shape[0]) / 2 + 0.5
    o_y = float(arr.shape[1]) / 2 + 0.5
    offset_matrix = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset_matrix = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    t = offset_matrix @ np.array(m) @ reset_matrix
    out = np.stack([ndimage.affine_transform(arr[:, :, c], t[:2, :2], t[:2, 2]) for c in range(arr.shape[2])], axis=2)
    return Image.fromarray(out[:, :, 0] if out.shape[2] == 1 else out)


def dvp_op(img, name, v):
    h, w = np.array(img).shape[:2]
    if name == "ShearX":
        return dvp_affine(img, [[1, v, 0], [0, 1, 0], [0, 0, 1]])
    if name == "ShearY":
        return dvp_affine(img, [[1, 0, 0], [v, 1, 0], [0, 0, 1]])
    if name == "TranslateX":
        return dvp_affine(img, [[1, 0, 0], [0, 1, w * v], [0, 0, 1]])
    if name == "TranslateY":
        return dvp_affine(img, [[1, 0, h * v], [0, 1, 0], [0, 0, 1]])
    if name == "Rotate":
        th = np.deg2rad(v)
        return dvp_affine(img, [[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1]])
    if name == "Solarize":
        return ImageOps.solarize(img, v)
    if name == "Posterize":
        return ImageOps.posterize(img, int(round(v)))
    if name == "Contrast":
        return ImageEnhance.Contrast(img).enhance(v)
    if name == "Color":
        return ImageEnhance.Color(img).enhance(v)
    if name == "Brightness":
        return ImageEnhance.Brightness(img).enhance(v)
    if name == "Sharpness":
        return ImageEnhance.Sharpness(img).enhance(v)
    if name == "AutoContrast":
        return ImageOps.autocontrast(img)
    if name == "Invert":
        return ImageOps.invert(img)
    if name == "Equalize":
        return ImageOps.equalize(img)
    raise ValueError(name)


NORM = T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


def run(op, a, img):
    """Returns a PIL image or a float tensor (CHW)."""
    if op == "resize":  # explicit (w, h)
        return F.resize(img, [a[1], a[0]], InterpolationMode.BILINEAR)
    if op == "resize_shorter":
        return T.Resize(a[0])(img)
    if op == "resized_crop":  # top, left, h, w, out_w, out_h
        return F.resized_crop(img, a[0], a[1], a[2], a[3], [a[5], a[4]], InterpolationMode.BILINEAR)
    if op == "crop":  # top, left, h, w
        return F.crop(img, a[0], a[1], a[2], a[3])
    if op == "center_crop":
        return T.CenterCrop((a[1], a[0]))(img)
    if op == "eval":  # Resize(int(size/0.875)) + CenterCrop(size) + ToTensor + Normalize
        size = a[0]
        return T.Compose([T.Resize(int(size / 0.875)), T.CenterCrop(size), T.ToTensor(), NORM])(img)
    if op == "ten_crop":  # returns crop a[2] of TenCrop(a[0], a[1])
        return T.TenCrop((a[1], a[0]))(img)[a[2]]
    if op == "to_tensor_normalize":
        return NORM(T.ToTensor()(img))
    if op == "brightness":
        return F.adjust_brightness(img, a[0])
    if op == "contrast":
        return F.adjust_contrast(img, a[0])
    if op == "saturation":
        return F.adjust_saturation(img, a[0])
    if op == "hue":
        return F.adjust_hue(img, a[0])
    if op == "grayscale":
        return F.rgb_to_grayscale(img, num_output_channels=3)
    if op == "hflip":
        return F.hflip(img)
    if op == "gaussian_blur_pil":  # MoCo's GaussianBlur: PIL ImageFilter.GaussianBlur(radius=sigma)
        return img.filter(ImageFilter.GaussianBlur(radius=a[0]))
    if op == "tv_aa":  # torchvision AutoAugment op at a fixed signed magnitude
        return _apply_op(img, a[0], float(a[1]), interpolation=InterpolationMode.NEAREST, fill=None)
    if op == "dvp_aa":
        if ndimage is None and a[0] in ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"):
            raise LookupError("scipy is not installed (python3-scipy)")
        return dvp_op(img, a[0], float(a[1]))
    if op == "decode":  # torchvision's pil_loader on an encoded file
        with open(a[0], "rb") as f:
            return Image.open(f).convert("RGB")
    raise ValueError("unknown op " + op)


def main():
    cases, out_dir = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    lines = []
    for raw in open(cases):
        if not raw.strip():
            continue
        c = json.loads(raw)
        name = c["name"]
        try:
            img = Image.open(c["input"]).convert(c.get("mode", "RGB")) if c.get("input") else None
            r = run(c["op"], c.get("args", []), img)
        except LookupError as e:
            lines.append(f"{name} SKIP {e}")
            continue
        except Exception as e:  # reported to the Java side, which fails the case with this message
            lines.append(f"{name} ERROR {type(e).__name__}: {e}".replace("\n", " "))
            continue
        if isinstance(r, torch.Tensor):
            arr = r.detach().numpy().astype("<f4")
            ch, hh, ww = arr.shape
            arr.tofile(f"{out_dir}/{name}.bin")
            lines.append(f"{name} f32 {ww} {hh} {ch}")
        else:
            arr = np.asarray(r, dtype=np.uint8)
            if arr.ndim == 2:
                arr = arr[:, :, None]
            hh, ww, ch = arr.shape
            np.ascontiguousarray(arr).tofile(f"{out_dir}/{name}.bin")
            lines.append(f"{name} u8 {ww} {hh} {ch}")
    with open(f"{out_dir}/results.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
