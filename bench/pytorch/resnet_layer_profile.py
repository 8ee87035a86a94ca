#!/usr/bin/python3
"""Where a CPU ResNet-18 training step spends its convolution time, dvp against PyTorch, per layer.

Profiles PyTorch's step (torchvision resnet18, forward, cross-entropy, backward, SGD momentum 0.9 and
weight decay 1e-4, as bench/pytorch/resnet_step_baseline.py) with torch.autograd.profiler, and joins
its per-shape convolution times with a `dvp profile resnet18-train --json FILE` result from the same
machine: one row per convolution shape, milliseconds per step for the forward and for the backward
(dvp: data gradient + filter gradient; PyTorch: one convolution_backward computing both, or only the
filter gradient for the stem, whose input needs none).

Usage (repository root, the two runs back to back so the machine's load is comparable):
    ./dvp profile resnet18-train --device cpu --batch 32 --resolution 112 --steps 8 --json /tmp/dvp.json
    /usr/bin/python3 bench/pytorch/resnet_layer_profile.py --dvp /tmp/dvp.json [--threads T] [--steps 4]
Prints a markdown table.
"""
import argparse
import collections
import json
import os
import re

import torch
import torchvision


def torch_conv_ms_per_step(batch, px, threads, warmup, steps):
    """{(x shape, w shape): [forward ms, backward ms]} per step, from PyTorch's profiler."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(batch, 3, px, px)
    y = torch.randint(0, 1000, (batch,))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(warmup):
        step()
    with torch.autograd.profiler.profile(record_shapes=True) as prof:
        for _ in range(steps):
            step()
    times = collections.defaultdict(lambda: [0.0, 0.0])
    for e in prof.key_averages(group_by_input_shape=True):
        shapes = e.input_shapes
        if e.key == "aten::convolution":  # [x, w, bias, ...]
            times[(tuple(shapes[0]), tuple(shapes[1]))][0] += e.cpu_time_total / 1000 / steps
        elif e.key == "aten::convolution_backward":  # [grad_out, x, w, ...]
            times[(tuple(shapes[1]), tuple(shapes[2]))][1] += e.cpu_time_total / 1000 / steps
    return times


def dvp_conv_ms_per_step(path):
    """{(x shape, w shape): [forward ms, backward ms]} per step, the step's median ms, the command and the
    settings, from a dvp profile JSON."""
    scenario = json.load(open(path))["scenarios"][0]
    steps = scenario["run"]["steps"]
    step_ms = next(f["median"] for f in scenario["figures"] if f["name"] == "step_time")
    times = collections.defaultdict(lambda: [0.0, 0.0])
    dims = lambda name, text: tuple(int(v) for v in re.search(name + r"\[([\d,]+)\]", text).group(1).split(","))
    for op in scenario["ops"]:
        s = op["shapes"]
        if op["op"] == "conv2d_forward":
            times[(dims(r"\bx", s), dims(r"\bw", s))][0] += op["total_ms"] / steps
        elif op["op"] == "conv2d_backward_data":
            times[(dims(r"\bdx", s), dims(r"\bw", s))][1] += op["total_ms"] / steps
        elif op["op"] == "conv2d_backward_filter":
            times[(dims(r"\bx", s), dims(r"\bdw", s))][1] += op["total_ms"] / steps
    return times, step_ms, scenario["run"]["command"], scenario["settings"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dvp", required=True, help="a `dvp profile resnet18-train --json` result file")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=4)
    args = ap.parse_args()
    dvp, dvp_step, command, settings = dvp_conv_ms_per_step(args.dvp)
    pt = torch_conv_ms_per_step(settings["batch"], settings["resolution"], args.threads, args.warmup, args.steps)
    fmt = lambda s: "[" + ",".join(map(str, s)) + "]"
    print(f"dvp: `{command}` (step median {dvp_step:.0f} ms); PyTorch {torch.__version__}, {args.threads} threads, "
          f"{args.steps} profiled steps")
    print()
    print("| x | w | dvp fwd | PyTorch fwd | dvp bwd | PyTorch bwd | dvp / PyTorch time |")
    print("|---|---|---|---|---|---|---|")
    total = [0.0] * 4
    for key in sorted(dvp, key=lambda k: -(dvp[k][0] + dvp[k][1])):
        d, p = dvp[key], pt.get(key, [float("nan")] * 2)
        for i, v in enumerate((d[0], p[0], d[1], p[1])):
            total[i] += v
        print(f"| {fmt(key[0])} | {fmt(key[1])} | {d[0]:.1f} | {p[0]:.1f} | {d[1]:.1f} | {p[1]:.1f} | "
              f"{(d[0] + d[1]) / (p[0] + p[1]):.2f}× |")
    print(f"| all convolutions | | {total[0]:.0f} | {total[1]:.0f} | {total[2]:.0f} | {total[3]:.0f} | "
          f"{(total[0] + total[2]) / (total[1] + total[3]):.2f}× |")
    print()
    print("ms per training step (forward: one call per step and layer instance, summed over instances)")


if __name__ == "__main__":
    main()
