#!/usr/bin/python3
"""PyTorch CPU baseline for dvp's ResNetStepBench: one ResNet training step (forward, cross-entropy,
backward, SGD with momentum 0.9 and weight decay 1e-4) on random images, torchvision's resnet18 by
default, 112 px, batch 32, all cores.

Usage: /usr/bin/python3 bench/pytorch/resnet_step_baseline.py [--arch resnet18] [--batch 32] [--px 112]
       [--threads T (default: all cores)] [--warmup 2] [--steps 5]
Prints the median and best step time and the images/s of the median step.
"""
import argparse
import os
import statistics
import time

import torch
import torchvision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="resnet18")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--px", type=int, default=112)
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="intra-op threads (default: all cores; torch 1.13's own default is 1 on this machine)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = getattr(torchvision.models, args.arch)(num_classes=1000).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(args.batch, 3, args.px, args.px)
    y = torch.arange(args.batch) % 1000
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"pytorch {torch.__version__} {args.arch} {args.px}px batch {args.batch} threads {torch.get_num_threads()}: "
          f"median {med * 1e3:.1f} ms, best {min(times) * 1e3:.1f} ms per step, {args.batch / med:.2f} img/s")


if __name__ == "__main__":
    main()
