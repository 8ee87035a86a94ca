#!/usr/bin/python3
"""PyTorch CPU baseline of dvp's ConvBench: a 3x3 convolution, stride 1, padding 1, C -> C channels at
S x S, batch 8: forward, input gradient and weight gradient, each timed alone through the kernels
PyTorch's autograd calls (aten.convolution / aten.convolution_backward with one output mask).

Usage: /usr/bin/python3 bench/pytorch/conv_baseline.py [--shape 64x56] [--batch 8] [--threads T] [--repeats 20]
Prints one line per pass: median and best ms.
"""
import argparse
import os
import statistics
import time

import torch


def timed(fn, repeats, warmup=3):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts), min(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="64x56", help="channels x spatial size")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="intra-op threads (default: all cores; torch 1.13's own default is 1 on this machine)")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    c, s = (int(v) for v in args.shape.split("x"))
    torch.manual_seed(0)
    x = torch.randn(args.batch, c, s, s)
    w = torch.randn(c, c, 3, 3) * 0.05
    dy = torch.randn(args.batch, c, s, s)
    conv = torch.ops.aten.convolution
    back = torch.ops.aten.convolution_backward
    passes = {
        "forward": lambda: conv(x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1),
        "backwardData": lambda: back(dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, False, False]),
        "backwardFilter": lambda: back(dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [False, True, False]),
    }
    for name, fn in passes.items():
        with torch.no_grad():
            med, best = timed(fn, args.repeats)
        print(f"pytorch {torch.__version__} conv3x3 {args.shape} batch {args.batch} threads {torch.get_num_threads()} "
              f"{name}: median {med:.2f} ms, best {best:.2f} ms")


if __name__ == "__main__":
    main()
