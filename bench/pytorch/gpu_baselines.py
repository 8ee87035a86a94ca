#!/usr/bin/env python3
"""PyTorch baselines of `dvp bench`'s scenarios, same work and same settings, written in dvp's own
results schema (dvp-results/1, docs/results-schema.md) so `dvp bench compare` and `dvp bench report`
read them next to dvp's files. Made for PyTorch 2.11 on one GPU (bench/gpu/compare.sh runs it there);
it also runs on the CPU at tiny sizes, which is how the tests check it (GpuBaselinesScriptTest).

Modes (--mode; one results file per mode):
  eager-fp32           eager, NCHW, fp32 with TF32 OFF for matmul and cuDNN (dvp's default: TF32 off)
  eager-tf32           eager, NCHW, fp32 with TF32 ON for matmul and cuDNN (dvp: -Ddvp.cuda.tf32=true)
  eager-amp-bf16-cl    eager, channels_last, autocast bf16 (fp32 master weights, no grad scaler), TF32 on
  compile-amp-bf16-cl  the above with the model / loss function wrapped in torch.compile (default mode)
cuDNN autotuning (torch.backends.cudnn.benchmark) is on unless --no-cudnn-benchmark: what a PyTorch user
who cares about speed does; dvp picks cuDNN algorithms by heuristics (deterministic ones only).

Scenarios (as dvp.training.perf.*Scenario; workload and figure names are dvp's, so files compare):
  resnet18-train, resnet50-train  torchvision model, cross-entropy, backward, SGD lr 0.1 momentum 0.9 wd 1e-4
  moco-step       facebookresearch/moco builder.py on one GPU: MLP head, key encoder EMA (0.999, parameters
                  only), the colab demo's SplitBatchNorm + key shuffle, margin 0.4 subtracted from the positive
                  logit then /tau 0.2 (ALGORITHMS.md 2.2-2.5), enqueue; SGD lr 0.03 momentum 0.9 wd 1e-4
  distill-step    clovaai/overhaul-distillation (ImageNet distiller.py): pre-ReLU stage features, margins from
                  the teacher's last bn3, 1x1 conv + BN connectors, loss in OFD's max+mask form (= DVP's
                  three-case form, ALGORITHMS 3.3), stage weights 1/8..1, CE (smoothing 0.1) + 1e-4 * sum / B,
                  teacher in train mode under no_grad, Nesterov SGD lr 0.1 momentum 0.9 wd 1e-4
  margin-infonce  the MoCo logits + margin + cross-entropy alone, loss + query gradient
  ofd-loss        the OFD loss alone at ResNet-50's four stage shapes, forward + backward
  conv            every distinct ResNet-50 convolution: forward / data grad / filter grad (aten calls)
  gemm            C = A @ B at square sizes or --size M,N,K
Defaults: dvp's per device (CPU: small; GPU: batch 256 at 224 px, queue 4096; margin-infonce N 256, K 65536).

Timing: per workload --warmup runs, then --samples runs each timed alone (GPU: CUDA events around the run,
then a synchronize, the same as dvp's device markers; CPU: time.perf_counter). Peak device memory per
scenario: torch.cuda.max_memory_allocated after torch.cuda.reset_peak_memory_stats once the scenario is
built (so it counts weights and inputs, then optimizer state, activations and workspaces of the runs; dvp
resets its allocator's peak at the same point). A scenario that fails or runs past
--scenario-timeout is listed under "skipped" with the reason; the file is rewritten after every scenario,
so a run killed from outside keeps what finished.

Usage: python3 bench/pytorch/gpu_baselines.py --mode eager-fp32 --json out.json [--device cuda|cpu]
       [-s resnet50-train,moco-step] [--batch N] [--resolution PX] [--queue K] [--size M,N,K]
       [--warmup 3] [--samples 10] [--scenario-timeout 120]
"""
import argparse
import datetime
import functools
import gc
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

SCENARIOS = ["resnet18-train", "resnet50-train", "moco-step", "distill-step", "margin-infonce", "ofd-loss", "conv", "gemm"]
MODES = {
    "eager-fp32": dict(tf32=False, amp=False, channels_last=False, compile=False),
    "eager-tf32": dict(tf32=True, amp=False, channels_last=False, compile=False),
    "eager-amp-bf16-cl": dict(tf32=True, amp=True, channels_last=True, compile=False),
    "compile-amp-bf16-cl": dict(tf32=True, amp=True, channels_last=True, compile=True),
}
MARGIN, TAU, ETA, DIM = 0.4, 0.2, 0.999, 128


class Ctx:
    """The run's device and mode, and the helpers every scenario uses."""

    def __init__(self, args):
        self.dev = torch.device(args.device)
        self.gpu = self.dev.type == "cuda"
        self.args = args
        m = MODES[args.mode]
        self.amp, self.cl, self.compile, self.tf32 = m["amp"], m["channels_last"], m["compile"], m["tf32"]
        self.fmt = torch.channels_last if self.cl else torch.contiguous_format

    def default(self, value, cpu, gpu):
        v = value if value is not None else (gpu if self.gpu else cpu)
        if v <= 0:
            raise ValueError(f"settings must be positive, got {v}")
        return v

    def autocast(self):
        if not self.amp:
            return _Null()
        return torch.autocast(device_type=self.dev.type, dtype=torch.bfloat16)

    def compiled(self, fn):
        return torch.compile(fn) if self.compile else fn

    def images(self, batch, res, gen_seed):
        g = torch.Generator().manual_seed(gen_seed)
        return torch.randn(batch, 3, res, res, generator=g).to(self.dev).contiguous(memory_format=self.fmt)

    def labels(self, batch, classes, gen_seed):
        g = torch.Generator().manual_seed(gen_seed)
        return torch.randint(classes, (batch,), generator=g).to(self.dev)


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def image_settings(arch, batch, res):
    return {"arch": arch, "batch": batch, "resolution": res, "width_multiplier": 1.0}


# ---- scenarios: each returns (settings, [(workload name, images per run, fn)]) ---------------------------

def resnet_train(ctx, o, arch):
    batch, res = ctx.default(o.batch, 8, 256), ctx.default(o.resolution, 64, 224)
    classes = ctx.default(o.classes, 1000, 1000)
    settings = image_settings(arch, batch, res)
    settings.update(classes=classes, optimizer="sgd lr 0.1 momentum 0.9 weight_decay 1e-4", seed=o.seed)
    torch.manual_seed(o.seed)
    model = getattr(torchvision.models, arch)(num_classes=classes).to(ctx.dev).to(memory_format=ctx.fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    x, y = ctx.images(batch, res, o.seed + 2), ctx.labels(batch, classes, o.seed + 3)
    fwd = ctx.compiled(model)

    def step():
        with ctx.autocast():
            loss = F.cross_entropy(fwd(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return settings, [("train_step", batch, step)]


class SplitBatchNorm(nn.BatchNorm2d):
    """The MoCo colab demo's split BN (dvp.nn.SplitBatchNorm2d): [N,C,H,W] viewed as [N/S, S*C, H, W], so
    group j holds the samples n with n mod S = j; running statistics are the mean of the S updated copies.
    reshape instead of the demo's view: a channels_last input cannot be viewed that way (it is copied)."""

    def __init__(self, num_features, num_splits, **kw):
        super().__init__(num_features, **kw)
        self.num_splits = num_splits

    def forward(self, x):
        n, c, h, w = x.shape
        if not self.training:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, self.momentum, self.eps)
        s = self.num_splits
        rm, rv = self.running_mean.repeat(s), self.running_var.repeat(s)
        out = F.batch_norm(x.reshape(-1, c * s, h, w), rm, rv, self.weight.repeat(s), self.bias.repeat(s),
                           True, self.momentum, self.eps).reshape(n, c, h, w)
        self.running_mean.data.copy_(rm.view(s, c).mean(dim=0))
        self.running_var.data.copy_(rv.view(s, c).mean(dim=0))
        return out


class MoCo(nn.Module):
    """facebookresearch/moco builder.py (MoCo v2: --mlp) on one device, plus DVP's margin on the positive logit.
    The pointer is a Python int (builder.py reads a tensor with int(), a host sync every step); the EMA uses
    torch._foreach_* (builder.py's per-parameter loop computes the same numbers with more launches)."""

    def __init__(self, arch, dim, k, splits, fmt):
        super().__init__()
        norm = functools.partial(SplitBatchNorm, num_splits=splits) if splits > 1 else nn.BatchNorm2d

        def encoder():
            e = getattr(torchvision.models, arch)(num_classes=dim, norm_layer=norm)
            mlp = e.fc.weight.shape[1]
            e.fc = nn.Sequential(nn.Linear(mlp, mlp), nn.ReLU(), e.fc)
            return e

        self.encoder_q, self.encoder_k = encoder(), encoder()
        for pq, pk in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
            pk.data.copy_(pq.data)
            pk.requires_grad = False
        self.register_buffer("queue", F.normalize(torch.randn(dim, k), dim=0))
        self.ptr, self.k = 0, k
        self.fmt = fmt

    def prepare(self, compile_fn):
        self.pq = list(self.encoder_q.parameters())
        self.pk = list(self.encoder_k.parameters())
        self.fq, self.fk = compile_fn(self.encoder_q), compile_fn(self.encoder_k)

    def forward(self, im_q, im_k):
        q = F.normalize(self.fq(im_q), dim=1)
        with torch.no_grad():
            torch._foreach_mul_(self.pk, ETA)
            torch._foreach_add_(self.pk, self.pq, alpha=1 - ETA)
            idx = torch.randperm(im_k.shape[0], device=im_k.device)
            k = F.normalize(self.fk(im_k[idx].contiguous(memory_format=self.fmt)), dim=1)
            k = k[torch.argsort(idx)]
        l_pos = torch.einsum("nc,nc->n", q, k).unsqueeze(-1)
        l_neg = torch.einsum("nc,ck->nk", q, self.queue.clone().detach())
        logits = torch.cat([l_pos - MARGIN, l_neg], dim=1) / TAU
        labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        loss = F.cross_entropy(logits, labels)
        acc = (logits.argmax(1) == 0).float().mean()
        with torch.no_grad():
            n = k.shape[0]
            self.queue[:, self.ptr:self.ptr + n] = k.T.to(self.queue.dtype)
            self.ptr = (self.ptr + n) % self.k
        return loss, acc


def moco_step(ctx, o):
    batch, res = ctx.default(o.batch, 8, 256), ctx.default(o.resolution, 64, 224)
    k = ctx.default(o.queue, 4096, 4096)
    arch = o.arch or "resnet50"
    splits = 8 if ctx.gpu else 2
    if batch % splits != 0:
        splits = 1
    if k % batch != 0:
        raise ValueError(f"moco-step: queue {k} is not a multiple of the batch {batch}")
    settings = image_settings(arch, batch, res)
    settings.update(queue=k, dim=DIM, bn_splits=splits, margin=MARGIN, tau=TAU, momentum_encoder=ETA, key_shuffle=True,
                    optimizer="sgd lr 0.03 momentum 0.9 weight_decay 1e-4", seed=o.seed)
    torch.manual_seed(o.seed)
    model = MoCo(arch, DIM, k, splits, ctx.fmt).to(ctx.dev).to(memory_format=ctx.fmt).train()
    model.prepare(ctx.compiled)
    opt = torch.optim.SGD(model.encoder_q.parameters(), lr=0.03, momentum=0.9, weight_decay=1e-4)
    xq, xk = ctx.images(batch, res, o.seed + 2), ctx.images(batch, res, o.seed + 3)

    def step():
        with ctx.autocast():
            loss, _ = model(xq, xk)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return settings, [("moco_step", batch, step)]


def prerelu_block(block, x):
    """A torchvision Bottleneck/BasicBlock without its final ReLU (OFD's ResNet returns stage outputs pre-ReLU)."""
    out = block.relu(block.bn1(block.conv1(x)))
    if hasattr(block, "conv3"):
        out = block.relu(block.bn2(block.conv2(out)))
        out = block.bn3(block.conv3(out))
    else:
        out = block.bn2(block.conv2(out))
    return out + (block.downsample(x) if block.downsample is not None else x)


def stage_features(net, x):
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    feats = []
    for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
        for blk in layer[:-1]:
            x = blk(x)
        pre = prerelu_block(layer[-1], x)
        feats.append(pre)
        x = F.relu(pre)
    return feats, net.fc(torch.flatten(net.avgpool(x), 1))


def ofd_margin(gamma, beta):
    """ALGORITHMS 3.2 (OFD get_margin_from_BN), vectorised: E[x | x < 0] for x ~ N(beta, |gamma|^2), -3|gamma|
    where that tail is tiny, 0 where gamma = 0."""
    s, m = gamma.double().abs(), beta.double()
    safe = torch.where(s > 0, s, torch.ones_like(s))
    cdf = torch.special.ndtr(-m / safe)
    tail = -safe * torch.exp(-(m / safe) ** 2 / 2) / math.sqrt(2 * math.pi) / cdf.clamp_min(1e-300) + m
    out = torch.where(cdf > 0.001, tail, -3 * s)
    return torch.where(s > 0, out, torch.zeros_like(out)).float()


def ofd_loss(source, target, margin):
    """overhaul-distillation's distillation_loss (max + mask form), summed in fp32."""
    target = torch.max(target, margin.to(target.dtype))
    loss = (source - target) ** 2 * ((source > target) | (target > 0)).to(source.dtype)
    return loss.sum(dtype=torch.float32)


def distill_step(ctx, o):
    batch, res = ctx.default(o.batch, 4, 256), ctx.default(o.resolution, 64, 224)
    classes = ctx.default(o.classes, 1000, 1000)
    arch = o.arch or "resnet50"
    weights = [0.125, 0.25, 0.5, 1.0]
    settings = image_settings(arch + " teacher and student", batch, res)
    settings.update(classes=classes, label_smoothing=0.1,
                    distill="lambda 1.0E-4, stage weights [0.125, 0.25, 0.5, 1.0], teacher mode train",
                    optimizer="sgd lr 0.1 nesterov momentum 0.9 weight_decay 1e-4", seed=o.seed)
    torch.manual_seed(o.seed)
    teacher = getattr(torchvision.models, arch)(num_classes=classes)
    student = getattr(torchvision.models, arch)(num_classes=classes)
    student.load_state_dict(teacher.state_dict())  # self-distillation: the same initial weights
    last_bn = [(layer[-1].bn3 if hasattr(layer[-1], "bn3") else layer[-1].bn2)
               for layer in (teacher.layer1, teacher.layer2, teacher.layer3, teacher.layer4)]
    margins = [ofd_margin(bn.weight.data, bn.bias.data).view(1, -1, 1, 1).to(ctx.dev) for bn in last_bn]
    connectors = nn.ModuleList()
    for bn in last_bn:
        c = bn.num_features
        conv = nn.Conv2d(c, c, 1, bias=False)
        nn.init.normal_(conv.weight, 0, math.sqrt(2.0 / c))
        connectors.append(nn.Sequential(conv, nn.BatchNorm2d(c)))
    for m in (teacher, student, connectors):
        m.to(ctx.dev).to(memory_format=ctx.fmt).train()
    params = list(student.parameters()) + list(connectors.parameters())
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    x, y = ctx.images(batch, res, o.seed + 2), ctx.labels(batch, classes, o.seed + 3)

    def forward(x, y):
        s_feats, s_out = stage_features(student, x)
        with torch.no_grad():
            t_feats, _ = stage_features(teacher, x)
        d = 0
        for i in range(4):
            d = d + weights[i] * ofd_loss(connectors[i](s_feats[i]), t_feats[i], margins[i])
        return F.cross_entropy(s_out, y, label_smoothing=0.1) + d * 1e-4 / x.shape[0]

    fwd = ctx.compiled(forward)

    def step():
        with ctx.autocast():
            loss = fwd(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return settings, [("distill_step", batch, step)]


def margin_infonce(ctx, o):
    n, k, d = ctx.default(o.batch, 32, 256), ctx.default(o.queue, 4096, 65536), DIM
    settings = {"batch": n, "queue": k, "dim": d, "margin": MARGIN, "tau": TAU, "seed": o.seed}
    g = torch.Generator().manual_seed(o.seed)
    q = F.normalize(torch.randn(n, d, generator=g), dim=1).to(ctx.dev).requires_grad_(True)
    kpos = F.normalize(torch.randn(n, d, generator=g), dim=1).to(ctx.dev)
    queue = F.normalize(torch.randn(d, k, generator=g), dim=0).to(ctx.dev)  # MoCo's layout [dim, K]

    def loss_fn(q, kpos, queue):
        l_pos = torch.einsum("nc,nc->n", q, kpos).unsqueeze(-1)
        l_neg = torch.einsum("nc,ck->nk", q, queue)
        logits = torch.cat([l_pos - MARGIN, l_neg], dim=1) / TAU
        labels = torch.zeros(logits.shape[0], dtype=torch.long, device=logits.device)
        return F.cross_entropy(logits, labels), (logits.argmax(1) == 0).float().mean()

    fn = ctx.compiled(loss_fn)

    def run():
        q.grad = None
        with ctx.autocast():
            loss, _ = fn(q, kpos, queue)
        loss.backward()

    return settings, [(f"margin_infonce forward+backward N={n} K={k} d={d}", 0, run)]


def ofd_loss_scenario(ctx, o):
    n, res = ctx.default(o.batch, 8, 256), ctx.default(o.resolution, 64, 224)
    g = torch.Generator().manual_seed(o.seed)
    dtype = torch.bfloat16 if ctx.amp else torch.float32
    fn = ctx.compiled(ofd_loss)
    work, shapes = [], []
    for i in range(4):
        c, h = 256 << i, max(1, res // (4 << i))
        s = torch.randn(n, c, h, h, generator=g).to(ctx.dev, dtype).contiguous(memory_format=ctx.fmt).requires_grad_(True)
        t = torch.randn(n, c, h, h, generator=g).to(ctx.dev, dtype).contiguous(memory_format=ctx.fmt)
        margin = ofd_margin(0.5 + torch.rand(c, generator=g), torch.rand(c, generator=g) - 0.5).view(1, c, 1, 1).to(ctx.dev)
        w = 2.0 ** -(3 - i) / (n * 1e4)
        shape = f"[{n},{c},{h},{h}]"
        shapes.append(shape)

        def run(s=s, t=t, margin=margin, w=w):
            s.grad = None
            (fn(s, t, margin) * w).backward()

        work.append((f"ofd_loss forward+backward {shape}", 0, run))
    return {"batch": n, "resolution": res, "seed": o.seed, "shapes": shapes}, work


def resnet50_convs(res):
    """The distinct convolutions of torchvision's ResNet-50 at this input size -> uses per step
    (dvp.training.perf.ConvScenario.resnet50Convs, same order)."""
    m = {}

    def add(s):
        m[s] = m.get(s, 0) + 1

    add((3, 64, 7, 2, 3, res))
    h = ((res + 6 - 7) // 2 + 1 + 2 - 3) // 2 + 1
    cin = 64
    for stage, blocks in enumerate((3, 4, 6, 3)):
        planes = 64 << stage
        out = planes * 4
        for b in range(blocks):
            stride = 2 if stage > 0 and b == 0 else 1
            add((cin, planes, 1, 1, 0, h))
            add((planes, planes, 3, stride, 1, h))
            ho = (h + 2 - 3) // stride + 1
            add((planes, out, 1, 1, 0, ho))
            if b == 0:
                add((cin, out, 1, stride, 0, h))
            cin, h = out, ho
    return m


def conv(ctx, o):
    if ctx.compile:
        raise Skip("each workload is a single cuDNN call; torch.compile would not change it")
    batch, res = ctx.default(o.batch, 4, 256), ctx.default(o.resolution, 64, 224)
    if o.arch is not None and o.arch.lower() != "resnet50":
        raise ValueError(f"conv: only the ResNet-50 conv shapes are listed (got --arch {o.arch})")
    dtype = torch.bfloat16 if ctx.amp else torch.float32
    g = torch.Generator().manual_seed(o.seed)
    shapes = resnet50_convs(res)
    uses, work = {}, []
    c_conv, c_back = torch.ops.aten.convolution, torch.ops.aten.convolution_backward
    for (ci, co, k, stride, pad, h), n_uses in shapes.items():
        label = f"x[{batch},{ci},{h},{h}] w[{co},{ci},{k},{k}] stride {stride}"
        uses[label] = n_uses
        ho = (h + 2 * pad - k) // stride + 1

        def t(*shape, scale=1.0):
            return (torch.randn(*shape, generator=g) * scale).to(ctx.dev, dtype).contiguous(memory_format=ctx.fmt)

        x, w, dy = t(batch, ci, h, h), t(co, ci, k, k, scale=0.05), t(batch, co, ho, ho)
        st, pd = [stride, stride], [pad, pad]
        args = (st, pd, [1, 1], False, [0, 0], 1)
        work.append((f"conv2d_forward {label}", 0, functools.partial(c_conv, x, w, None, *args)))
        work.append((f"conv2d_backward_data {label}", 0, functools.partial(c_back, dy, x, w, None, *args, [True, False, False])))
        work.append((f"conv2d_backward_filter {label}", 0, functools.partial(c_back, dy, x, w, None, *args, [False, True, False])))
    return {"arch": "resnet50", "batch": batch, "resolution": res, "shapes_and_uses_per_step": uses, "seed": o.seed}, work


def gemm(ctx, o):
    if ctx.compile:
        raise Skip("each workload is a single cuBLAS call; torch.compile would not change it")
    if o.size:
        try:
            sizes = [tuple(int(v) for v in o.size.split(","))]
            assert len(sizes[0]) == 3 and min(sizes[0]) > 0
        except (ValueError, AssertionError):
            raise ValueError(f"gemm: --size must be M,N,K (three positive integers), got '{o.size}'")
    else:
        sizes = [(n, n, n) for n in ((1024, 4096, 8192) if ctx.gpu else (256, 512, 1024))]
    dtype = torch.bfloat16 if ctx.amp else torch.float32
    g = torch.Generator().manual_seed(o.seed)
    work, labels = [], []
    for m, n, k in sizes:
        a = torch.randn(m, k, generator=g).to(ctx.dev, dtype)
        b = torch.randn(k, n, generator=g).to(ctx.dev, dtype)
        c = torch.empty(m, n, device=ctx.dev, dtype=dtype)
        label = f"M={m} N={n} K={k}"
        labels.append(label)
        work.append((f"matmul {label}", 0, functools.partial(torch.mm, a, b, out=c)))
    return {"shapes": labels, "seed": o.seed}, work


BUILDERS = {
    "resnet18-train": lambda c, o: resnet_train(c, o, "resnet18"),
    "resnet50-train": lambda c, o: resnet_train(c, o, "resnet50"),
    "moco-step": moco_step,
    "distill-step": distill_step,
    "margin-infonce": margin_infonce,
    "ofd-loss": ofd_loss_scenario,
    "conv": conv,
    "gemm": gemm,
}


class Skip(Exception):
    """A scenario this mode does not measure, with the reason."""


class ScenarioTimeout(Exception):
    pass


# ---- measuring and writing ------------------------------------------------------------------------------

def stats(values):
    """dvp.training.perf.Stats: numpy-default (linear) quantiles, sample standard deviation."""
    v = sorted(values)
    n = len(v)

    def q(p):
        pos = p * (n - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        return v[lo] + (v[hi] - v[lo]) * (pos - lo)

    mean = sum(v) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / (n - 1)) if n > 1 else 0.0
    med = q(0.5)
    return {"samples": n, "median": med, "q1": q(0.25), "q3": q(0.75), "min": v[0], "max": v[-1], "mean": mean,
            "stdev": sd, "spread_pct": 100 * (q(0.75) - q(0.25)) / med if med else 0.0}


def figure(name, unit, better, values, note):
    f = {"name": name, "unit": unit, "better": better}
    f.update(stats(values))
    f["values"] = list(values)
    f["note"] = note
    return f


def timed(ctx, fn, warmup, samples):
    for _ in range(warmup):
        fn()
    if ctx.gpu:
        torch.cuda.synchronize()
    ms = []
    for _ in range(samples):
        if ctx.gpu:
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            ms.append(a.elapsed_time(b))
        else:
            t0 = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t0) * 1e3)
    return ms


def git_info():
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--", "."], capture_output=True, text=True,
                               timeout=10).stdout.strip() != ""
        return commit or "unknown", dirty
    except (OSError, subprocess.SubprocessError):
        return "unknown", False


def machine():
    cpu, mem = platform.machine(), -1
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
        with open("/proc/meminfo") as f:
            mem = next((int(l.split()[1]) * 1024 for l in f if l.startswith("MemTotal:")), -1)
    except OSError:
        pass
    return {"host": socket.gethostname(), "os": f"{platform.system()} {platform.release()} {platform.machine()}", "cpu": cpu,
            "logical_cores": os.cpu_count() or 1, "cpu_threads": torch.get_num_threads(), "memory_bytes": mem,
            "jdk": "none (python " + platform.python_version() + ")", "jdk_vendor": "none", "python": platform.python_version()}


def device_info(ctx, args):
    facts = {"availability": f"torch {torch.__version__}", "torchvision": torchvision.__version__, "mode": args.mode,
             "tf32": f"torch.backends.cuda.matmul.allow_tf32={torch.backends.cuda.matmul.allow_tf32}, "
                     f"torch.backends.cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}",
             "autocast": "bfloat16 (no grad scaler; fp32 master weights)" if ctx.amp else "off",
             "memory_format": "channels_last" if ctx.cl else "contiguous (NCHW)",
             "torch.compile": "on (default mode)" if ctx.compile else "off"}
    driver = None
    if ctx.gpu:
        p = torch.cuda.get_device_properties(ctx.dev)
        name = torch.cuda.get_device_name(ctx.dev)
        facts.update({"cuda": str(torch.version.cuda), "cudnn": str(torch.backends.cudnn.version()),
                      "cudnn.benchmark": str(torch.backends.cudnn.benchmark),
                      "device 0": f"{name}, {p.total_memory // 2**20} MiB, sm_{p.major}{p.minor}, {p.multi_processor_count} SMs"})
        try:
            driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True,
                                    text=True, timeout=20).stdout.strip().splitlines()[0] or None
        except (OSError, subprocess.SubprocessError, IndexError):
            driver = None
        timing = "CUDA events around each run, then a synchronize (device time)"
    else:
        name = f"{machine()['cpu']} ({torch.get_num_threads()} threads)"
        timing = "host wall clock (time.perf_counter); PyTorch's CPU ops finish before they return"
    return {"backend": ctx.dev.type, "name": name, "driver": driver, "timing": timing, "facts": facts}


def write_atomically(path, obj):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def run_scenario(ctx, args, name):
    if ctx.gpu:
        gc.collect()
        torch.cuda.empty_cache()
    settings, work = BUILDERS[name](ctx, args)
    if ctx.gpu:  # as dvp: the peak starts at what the built scenario holds (weights, inputs), then the runs
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(ctx.dev)
    figures = []
    for wname, items, fn in work:
        ms = timed(ctx, fn, args.warmup, args.samples)
        figures.append(figure(wname + "/time", "ms", "lower", ms, ("CUDA events" if ctx.gpu else "host wall clock") + ", one run per sample"))
        if items > 0:
            figures.append(figure(wname + "/throughput", "img/s", "higher", [items / (t / 1e3) for t in ms], f"{items} images per run"))
        print(f"  {name}: {wname}: median {figures[-1 if items == 0 else -2]['median']:.3f} ms", flush=True)
    if ctx.gpu:
        figures.append(figure("peak_memory", "MiB", "lower", [torch.cuda.max_memory_allocated(ctx.dev) / 2**20],
                              "torch.cuda.max_memory_allocated from the built scenario (weights, inputs) through its runs "
                              "(optimizer state, activations, workspaces)"))
    run = {"command": " ".join([sys.executable] + sys.argv), "warmup": args.warmup, "samples": args.samples,
           "timing": "CUDA events around each run" if ctx.gpu else "host wall clock", "mode": args.mode}
    return {"name": name, "settings": settings, "run": run, "figures": figures}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=list(MODES), required=True)
    ap.add_argument("--json", required=True, help="results file to write (rewritten after every scenario)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("-s", "--scenarios", default=",".join(SCENARIOS), help="comma-separated (default: all)")
    for opt in ("batch", "resolution", "queue", "classes"):
        ap.add_argument("--" + opt, type=int)
    ap.add_argument("--arch", help="backbone of moco-step / distill-step (torchvision name; default resnet50)")
    ap.add_argument("--width", type=float, default=1.0, help="only 1 (torchvision has no width multiplier)")
    ap.add_argument("--size", help="one GEMM shape M,N,K")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--scenario-timeout", type=int, default=0, help="seconds per scenario, 0 = none (GPU: compile time counts)")
    ap.add_argument("--no-cudnn-benchmark", action="store_true")
    ap.add_argument("--threads", type=int, help="CPU intra-op threads")
    args = ap.parse_args(argv)
    names = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    bad = [s for s in names if s not in SCENARIOS]
    if bad or not names:
        ap.error(f"unknown scenario {bad} (known: {', '.join(SCENARIOS)})")
    if args.width != 1.0:
        ap.error("--width: torchvision's ResNets have no width multiplier; only 1 is supported")
    if args.warmup < 0 or args.samples < 1:
        ap.error("--warmup must be >= 0 and --samples >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    ctx = Ctx(args)
    if ctx.gpu and not torch.cuda.is_available():
        ap.error("--device cuda: torch.cuda.is_available() is False")
    torch.backends.cuda.matmul.allow_tf32 = ctx.tf32
    torch.backends.cudnn.allow_tf32 = ctx.tf32
    torch.backends.cudnn.benchmark = not args.no_cudnn_benchmark
    commit, dirty = git_info()
    result = {"schema": "dvp-results/1", "kind": "bench",
              "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
              "tool": {"name": "pytorch", "version": torch.__version__, "git_commit": commit, "git_dirty": dirty},
              "machine": machine(), "device": device_info(ctx, args), "scenarios": [], "skipped": [],
              "notes": [f"PyTorch baseline, mode {args.mode}, written by bench/pytorch/gpu_baselines.py (see its docstring)",
                        "medians over samples; no FLOP or byte counts (dvp's files have them)"]}
    compile_missing = ctx.compile and not hasattr(torch, "compile")
    print(f"gpu_baselines: torch {torch.__version__} on {result['device']['name']}, mode {args.mode}", flush=True)
    for name in names:
        t0 = time.time()
        try:
            if compile_missing:
                raise Skip(f"torch {torch.__version__} has no torch.compile (added in PyTorch 2.0)")
            if args.scenario_timeout > 0:
                signal.signal(signal.SIGALRM, _alarm)
                signal.alarm(args.scenario_timeout)
            try:
                result["scenarios"].append(run_scenario(ctx, args, name))
            finally:
                if args.scenario_timeout > 0:
                    signal.alarm(0)
            print(f"{name}: done in {time.time() - t0:.1f} s", flush=True)
        except Skip as e:
            result["skipped"].append({"scenario": name, "reason": str(e)})
            print(f"{name}: skipped: {e}", flush=True)
        except ScenarioTimeout:
            result["skipped"].append({"scenario": name, "reason": f"ran past --scenario-timeout {args.scenario_timeout} s"})
            print(f"{name}: FAILED: ran past {args.scenario_timeout} s", flush=True)
        except Exception as e:  # one scenario's failure (OOM, a compile error) must not lose the others
            msg = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:400]
            result["skipped"].append({"scenario": name, "reason": "failed: " + msg})
            print(f"{name}: FAILED: {msg}", flush=True)
        write_atomically(args.json, result)
    print(f"results: {args.json} ({len(result['scenarios'])} measured, {len(result['skipped'])} skipped)")
    return 0


def _alarm(signum, frame):
    raise ScenarioTimeout()


if __name__ == "__main__":
    sys.exit(main())
