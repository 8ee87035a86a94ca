#!/usr/bin/python3
"""OpenBLAS SGEMM through numpy (Debian python3-numpy + libopenblas0-pthread), the baseline of dvp's
GemmBench: C = A @ B, float32, n x n x n, all cores (OpenBLAS's default thread count).

Usage: /usr/bin/python3 bench/pytorch/gemm_baseline.py [--n 1024] [--repeats 30]
Prints the median and best time per product and the GFLOP/s of the median (2 n^3 / time).
"""
import argparse
import statistics
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    n = args.n
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    for _ in range(5):
        np.matmul(a, b, out=c)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"numpy {np.__version__} (OpenBLAS) sgemm n={n}: median {med * 1e3:.2f} ms, best {min(times) * 1e3:.2f} ms, "
          f"{2 * n ** 3 / med / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
