#!/usr/bin/python3
"""PyTorch CPU baselines for the fused losses, same shapes as dvp's JMH benchmarks
(MarginInfoNceBench, OfdLossBench), written as the original code computes them (see
engine/src/test/python/loss_parity.py for the reference semantics).

Usage: /usr/bin/python3 bench/pytorch/loss_baseline.py [--threads T] [--batch B] [--repeats R] [--cpu-time]
Prints one line per case: median and min wall time in ms over R timed runs after warm-up; with
--cpu-time (forces 1 thread), the CPU time of the calling thread instead (time.thread_time), the
counterpart of dvp.bench.LossCpuTime for machines shared with other jobs.
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


CLOCK = time.perf_counter


def timed(fn, repeats, warmup=5):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = CLOCK()
        fn()
        ts.append((CLOCK() - t0) * 1e3)
    return statistics.median(ts), min(ts)


def moco_logits_loss(q, k, queue_dk, margin=0.4, T=0.2):
    l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
    l_neg = torch.einsum("nc,ck->nk", [q, queue_dk])
    logits = torch.cat([l_pos - margin, l_neg], dim=1)
    logits /= T
    labels = torch.zeros(logits.shape[0], dtype=torch.long)
    loss = F.cross_entropy(logits, labels)
    acc = (logits.argmax(1) == 0).float().mean()
    return loss, acc


def distillation_loss(source, target, margin):
    loss = ((source - margin) ** 2 * ((source > margin) & (target <= margin)).float() +
            (source - target) ** 2 * ((source > target) & (target > margin) & (target <= 0)).float() +
            (source - target) ** 2 * (target > 0).float())
    return torch.abs(loss).sum()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--cpu-time", action="store_true")
    a = ap.parse_args()
    if a.cpu_time:
        global CLOCK
        CLOCK = time.thread_time
        a.threads = 1
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {a.threads} threads, {'thread CPU time' if a.cpu_time else 'wall time'}")
    n, d = 256, 128
    for kq in (4096, 16384, 65536):
        q0 = F.normalize(torch.randn(n, d), dim=1).requires_grad_(True)
        k = F.normalize(torch.randn(n, d), dim=1)
        queue = F.normalize(torch.randn(d, kq), dim=0)

        def train():
            q0.grad = None
            loss, acc = moco_logits_loss(q0, k, queue)
            loss.backward()
            return q0.grad

        def evaluate():
            with torch.no_grad():
                return moco_logits_loss(q0, k, queue)

        for name, fn in (("loss+acc+dq", train), ("loss+acc (no grad)", evaluate)):
            med, mn = timed(fn, a.repeats)
            print(f"margin-infonce N={n} d={d} K={kq:<6} {name:<20} median {med:9.3f} ms  min {mn:9.3f} ms")
    for stage in (1, 2, 3, 4):
        c, hw = 256 << (stage - 1), 56 >> (stage - 1)
        s0 = torch.randn(a.batch, c, hw, hw).requires_grad_(True)
        t = torch.randn(a.batch, c, hw, hw)
        margin = -torch.rand(1, c, 1, 1)

        def fwd():
            with torch.no_grad():
                return distillation_loss(s0, t, margin) / 8

        def fwd_bwd():
            s0.grad = None
            (distillation_loss(s0, t, margin) / 8).backward()
            return s0.grad

        for name, fn in (("forward", fwd), ("forward+backward", fwd_bwd)):
            med, mn = timed(fn, max(5, a.repeats // 3))
            print(f"ofd stage{stage} [{a.batch},{c},{hw},{hw}] {name:<17} median {med:9.3f} ms  min {mn:9.3f} ms")


if __name__ == "__main__":
    main()
