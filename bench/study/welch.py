#!/usr/bin/env python3
"""Welch two-sample t tests between two studies' seeds (dvp's and the PyTorch twin's seed.json
files): for every row's test/val/train top-1, the paired phase 2 - fine-tune difference, phase 1's
last-epoch metrics and phase 2's loss terms, the two means, sds, t and two-sided p. A check of the
report's fidelity flags (docs/study.md, "Fidelity"); needs SciPy.

    python3 bench/study/welch.py runs/study-overfit runs/twin-overfit
"""
import json
import os
import sys

import numpy as np
from scipy import stats

ROWS = ("supervised", "linear", "finetune", "distill")


def seeds(folder):
    out = []
    for name in sorted(os.listdir(folder)):
        f = os.path.join(folder, name, "seed.json")
        if name.startswith("seed-") and os.path.exists(f):
            with open(f) as fh:
                out.append(json.load(fh))
    return sorted(out, key=lambda s: s["seed"])


def show(name, x, y):
    t, p = stats.ttest_ind(x, y, equal_var=False)
    print(f"{name:30s} a {np.mean(x):.4g} (sd {np.std(x, ddof=1):.3g})  b {np.mean(y):.4g} (sd {np.std(y, ddof=1):.3g})  "
          f"diff {np.mean(x) - np.mean(y):+.3g}  Welch t {t:+.2f} p {p:.2f}")


def main(a_dir, b_dir):
    a, b = seeds(a_dir), seeds(b_dir)
    print(f"a = {a_dir} ({len(a)} seeds), b = {b_dir} ({len(b)} seeds)")
    for m in ("test_top1", "val_top1_last", "train_top1"):
        for r in ROWS:
            show(f"{m} {r}", [100 * s["rows"][r][m] for s in a], [100 * s["rows"][r][m] for s in b])
        d = lambda s: 100 * (s["rows"]["distill"][m] - s["rows"]["finetune"][m])  # noqa: E731
        show(f"{m} phase2-finetune", [d(s) for s in a], [d(s) for s in b])
    for k in ("loss", "acc1_margin", "acc5_margin", "acc1", "acc5"):
        f = 1 if k == "loss" else 100
        show(f"phase1 {k}", [f * s["phase1"][k] for s in a], [f * s["phase1"][k] for s in b])
    for k in ("ce", "distill", "distill_1", "distill_2", "distill_3", "distill_4"):
        if all(k in s.get("phase2", {}) for s in a + b):
            show(f"phase2 {k}", [s["phase2"][k] for s in a], [s["phase2"][k] for s in b])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
