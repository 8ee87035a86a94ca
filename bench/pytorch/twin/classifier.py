"""The labelled phases (ALGORITHMS §3.6, §6): full fine-tuning (from the phase-1 backbone, or from
random init: the supervised baseline), the linear classifier on the frozen backbone (eval-mode BN,
fc N(0, 0.01)), and phase 2 (fine-tuning plus OFD self-distillation, CE only for the warm-up
epochs). SGD as configured; the learning rate steps x0.1 per the study's schedule; validation every
eval_every epochs; the exported model is the last epoch's."""
import copy
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from .ofd import Distiller
from .resnet import ResNet


def milestones(cfg):
    """0-based epochs at which the lr is multiplied by gamma: the configured schedule, else each phase's
    recipe scaled to the run (phase 2/finetune: x0.1 when the 1-based epoch reaches ceil(f*E), f = 0.3,
    0.6, 0.9, as DVP's lr = 0.1 * 0.1^(epoch // 30) for E = 100; linear: x0.1 at round(f*E), f = 0.6, 0.8)."""
    s, e = cfg.get("schedule"), cfg["epochs"]
    if s is not None:
        if s["kind"] == "constant":
            return [], 1.0
        if s["kind"] != "steps":
            raise ValueError(f"twin: labelled phases support step schedules, not {s['kind']}")
        return list(s["milestones"]), s["gamma"]
    out = []
    if cfg["mode"] == "linear":
        for f in (0.6, 0.8):
            m = int(math.floor(f * e + 0.5))
            if 1 <= m < e and m not in out:
                out.append(m)
    else:
        for f in (0.3, 0.6, 0.9):
            one = int(math.ceil(f * e - 1e-9))
            if 2 <= one <= e and one - 1 not in out:
                out.append(one - 1)
    return out, 0.1


@torch.no_grad()
def accuracy(model, x, y, batch=1000):
    """(top-1, top-5) fractions of a model in eval mode on pre-transformed images."""
    model.eval()
    h1 = h5 = 0
    for i in range(0, x.shape[0], batch):
        logits = model(x[i:i + batch])
        top = logits.topk(min(5, logits.shape[1]), 1).indices
        yy = y[i:i + batch].view(-1, 1)
        h1 += int((top[:, :1] == yy).any(1).sum())
        h5 += int((top == yy).any(1).sum())
    return h1 / x.shape[0], h5 / x.shape[0]


def build(cfg, num_classes, backbone):
    """The row's network: the phase-1 backbone with a new fc, or random init (backbone None)."""
    model = ResNet(cfg["model"], num_classes)
    if backbone is not None:
        missing, unexpected = model.load_state_dict(backbone, strict=False)
        if sorted(missing) != ["fc.bias", "fc.weight"] or unexpected:
            raise RuntimeError(f"twin: backbone load: missing {missing}, unexpected {unexpected}")
    return model


def train_row(cfg, train_set, val, backbone, num_classes, log, name):
    """Trains one row; returns (model, val top-1 last, val top-1 best, seconds, per-epoch distillation log)."""
    t0 = time.time()
    model = build(cfg, num_classes, backbone)
    mode = cfg["mode"]
    o = cfg["optim"]
    distiller = None
    if mode == "linear":
        # main_lincls.py: fc N(0, 0.01), bias 0; only fc trains; the model stays in eval mode
        model.fc.weight.data.normal_(0, 0.01)
        model.fc.bias.data.zero_()
        for n, p in model.named_parameters():
            p.requires_grad = n.startswith("fc.")
        params = list(model.fc.parameters())
    elif mode == "distill":
        d = cfg["distill"]
        if d.get("teacher"):
            raise ValueError("twin: only self-distillation (no --teacher) is supported")
        teacher = copy.deepcopy(model)  # self-distillation: the teacher starts as the student's exact copy
        distiller = Distiller(teacher, model, d["lambda"], d["stageWeights"], d["teacherMode"] == "train",
                              d.get("margins", "bn"), d.get("connectors", "conv-bn"))
        params = list(model.parameters()) + list(distiller.connectors.parameters())
    else:
        params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], weight_decay=o["weightDecay"], nesterov=o["nesterov"])
    steps, gamma = milestones(cfg)
    if cfg.get("autoAugment", "none") != "none":
        raise ValueError("twin: AutoAugment is not implemented")
    loader = torch.utils.data.DataLoader(train_set, batch_size=cfg["batchSize"], shuffle=True, drop_last=cfg["dropLast"])
    epochs, smoothing = cfg["epochs"], cfg.get("labelSmoothing", 0.0)
    best = last = float("nan")
    dlog = []
    for epoch in range(epochs):
        lr = o["lr"] * gamma ** sum(1 for m in steps if epoch >= m)
        for g in opt.param_groups:
            g["lr"] = lr
        if mode == "linear":
            model.eval()
        elif distiller is not None:
            distiller.train()
        else:
            model.train()
        distilling = distiller is not None and epoch >= cfg["distill"]["warmupEpochs"]
        sums, count = [0.0] * 6, 0
        for x, y in loader:
            if distilling:
                logits, dist, stages = distiller(x)
            else:
                logits, dist, stages = model(x), None, [0.0] * 4
            ce = F.cross_entropy(logits, y, label_smoothing=smoothing)
            loss = ce if dist is None else ce + dist
            opt.zero_grad()
            loss.backward()
            opt.step()
            n = x.shape[0]
            for j, v in enumerate([float(ce), 0.0 if dist is None else float(dist)] + stages):
                sums[j] += v * n
            count += n
        if distiller is not None:
            dlog.append({"epoch": epoch + 1, "ce": sums[0] / count, "distill": sums[1] / count,
                         "distill_stages": [s / count for s in sums[2:]]})
        if (epoch + 1) % cfg["evalEvery"] == 0 or epoch == epochs - 1:
            last = accuracy(model, *val)[0] if val is not None else float("nan")
            best = last if not best >= last else best
            log(f"{name} epoch {epoch + 1}/{epochs} lr {lr:.4g} ce {sums[0] / count:.4f}"
                + (f" distill {sums[1] / count:.4f}" if distiller is not None else "") + f" val_top1 {last:.4f}")
    return model, last, best, time.time() - t0, dlog
