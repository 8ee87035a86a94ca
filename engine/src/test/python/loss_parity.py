#!/usr/bin/python3
"""PyTorch references for dvp's fused losses, written the way the original code computes them.

Usage: loss_parity.py DIR

DIR/cases.txt has one case per line (inputs are raw little-endian float32 files DIR/<name>.<x>.f32):
  infonce <name> <N> <d> <K> <margin> <tau>   inputs q [N,d], k [N,d], queue [K,d] (one key per row)
  ofd     <name> <N> <C> <H> <W> <divider>    inputs s, t [N,C,H,W], gamma, beta [C]
  margin  <name> <C>                          inputs gamma, beta [C]
For every case the script writes the reference results twice, once computed in float32 (what a
PyTorch user gets; files *.f32 / first value of *.f64) and once in float64 (second value), so the
caller can report its error against both.

MoCo (facebookresearch/moco, moco/builder.py) with DVP's margin on the positive logit:
  l_pos = einsum('nc,nc->n', q, k).unsqueeze(-1); l_neg = einsum('nc,ck->nk', q, queue)  (queue d×K)
  logits = cat([l_pos - m, l_neg], 1); logits /= T; loss = CrossEntropyLoss(logits, zeros)
  acc = top-1 of logits == 0 (MoCo's accuracy(), as a fraction here)
OFD as DVP uses it (the pre-June-2020 three-case distillation_loss and get_margin_from_BN of
clovaai/overhaul-distillation ImageNet/distiller.py); scipy's norm.cdf(x) is 0.5*erfc(-x/sqrt 2),
computed here with math.erfc (C's erfc) because scipy is not a dependency. The original divides
by zero for gamma == 0; that channel's margin is 0 here, as in dvp.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


def read(d, name, what, shape):
    a = np.fromfile(os.path.join(d, f"{name}.{what}.f32"), dtype="<f4")
    assert a.size == int(np.prod(shape)), f"{name}.{what}: {a.size} values for shape {shape}"
    return torch.from_numpy(a.reshape(shape).copy())


def write(d, name, what, tensor_or_values, dtype):
    a = np.asarray(tensor_or_values.detach().numpy() if torch.is_tensor(tensor_or_values) else tensor_or_values)
    ext = "f32" if dtype == np.float32 else "f64"
    a.astype("<f4" if dtype == np.float32 else "<f8").tofile(os.path.join(d, f"{name}.{what}.{ext}"))


def moco_margin_loss(q, k, queue_dk, margin, T):
    l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
    l_neg = torch.einsum("nc,ck->nk", [q, queue_dk.clone().detach()])
    logits = torch.cat([l_pos - margin, l_neg], dim=1)
    logits /= T
    labels = torch.zeros(logits.shape[0], dtype=torch.long)
    loss = torch.nn.CrossEntropyLoss()(logits, labels)
    _, pred = logits.topk(1, 1, True, True)
    acc = pred.squeeze(1).eq(labels).float().mean()
    return loss, acc


def infonce(d, name, n, dim, kq, margin, tau):
    q0, k0, queue0 = read(d, name, "q", (n, dim)), read(d, name, "k", (n, dim)), read(d, name, "queue", (kq, dim))
    losses, accs = [], []
    for dtype in (torch.float32, torch.float64):
        q = q0.to(dtype).clone().requires_grad_(True)
        loss, acc = moco_margin_loss(q, k0.to(dtype), queue0.to(dtype).t().contiguous(), margin, tau)
        loss.backward()
        losses.append(loss.item())
        accs.append(acc.item())
        write(d, name, "dq32" if dtype == torch.float32 else "dq64", q.grad, np.float32 if dtype == torch.float32 else np.float64)
    write(d, name, "loss", losses, np.float64)
    write(d, name, "acc", accs, np.float64)


def norm_cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


def get_margin_from_BN(weight, bias):
    margin = []
    for (s, m) in zip(weight, bias):
        s = abs(s.item())
        m = m.item()
        if s == 0:  # the original raises ZeroDivisionError here
            margin.append(0.0)
        elif norm_cdf(-m / s) > 0.001:
            margin.append(- s * math.exp(- (m / s) ** 2 / 2) / math.sqrt(2 * math.pi) / norm_cdf(-m / s) + m)
        else:
            margin.append(-3 * s)
    return torch.FloatTensor(margin)


def distillation_loss(source, target, margin):
    loss = ((source - margin) ** 2 * ((source > margin) & (target <= margin)).float() +
            (source - target) ** 2 * ((source > target) & (target > margin) & (target <= 0)).float() +
            (source - target) ** 2 * (target > 0).float())
    return torch.abs(loss).sum()


def ofd(d, name, n, c, h, w, divider):
    s0, t0 = read(d, name, "s", (n, c, h, w)), read(d, name, "t", (n, c, h, w))
    margin = get_margin_from_BN(read(d, name, "gamma", (c,)), read(d, name, "beta", (c,)))
    write(d, name, "margin", margin, np.float32)
    margin = margin.unsqueeze(1).unsqueeze(2).unsqueeze(0)  # the Distiller's registered buffer, (1, C, 1, 1)
    losses = []
    for dtype in (torch.float32, torch.float64):
        s = s0.to(dtype).clone().requires_grad_(True)
        loss = distillation_loss(s, t0.to(dtype).detach(), margin.to(dtype)) / divider
        loss.backward()
        losses.append(loss.item())
        write(d, name, "ds32" if dtype == torch.float32 else "ds64", s.grad, np.float32 if dtype == torch.float32 else np.float64)
    write(d, name, "loss", losses, np.float64)


def margin_only(d, name, c):
    write(d, name, "margin", get_margin_from_BN(read(d, name, "gamma", (c,)), read(d, name, "beta", (c,))), np.float32)


def main():
    d = sys.argv[1]
    torch.set_num_threads(1)  # the machine is shared; the sizes are small
    with open(os.path.join(d, "cases.txt")) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "infonce":
                infonce(d, p[1], int(p[2]), int(p[3]), int(p[4]), float(p[5]), float(p[6]))
            elif p[0] == "ofd":
                ofd(d, p[1], int(p[2]), int(p[3]), int(p[4]), int(p[5]), float(p[6]))
            elif p[0] == "margin":
                margin_only(d, p[1], int(p[2]))
            else:
                raise SystemExit(f"loss_parity.py: unknown case kind {p[0]!r} in {line!r}")
    print("ok", torch.__version__)


if __name__ == "__main__":
    main()
