"""Runs the PyTorch twin over the seeds of a dvp study.

    /usr/bin/python3 -m twin.run --study runs/study-X --out runs/twin-X [--seeds N] [--threads 2]
    (from bench/pytorch; or: /usr/bin/python3 bench/pytorch/dvp_twin.py ...)

Reads STUDY/study.json (every phase's settings) and STUDY/seed-<s>/split.json (the training and
validation images dvp drew for that seed), trains phase 1 and the four Table 1 rows with the
reference recipe, and writes OUT/seed-<s>/seed.json in dvp's schema (accuracies as fractions)
plus OUT/seed-<s>/log.txt and distill.json (the distillation term per epoch and per stage). A seed
whose seed.json exists is skipped, so an interrupted run continues with the next unfinished seed.
Seeds: torch.manual_seed(seed), random.seed(seed) — the twin's random streams are its own, so it
matches dvp in distribution (the study's fidelity test), not sample by sample.
"""
import argparse
import json
import os
import random
import resource
import sys
import time

import numpy as np
import torch

from . import data as D
from .classifier import accuracy, train_row
from .moco import pretrain

ROWS = ("supervised", "linear", "finetune", "distill")


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def load_json(path):
    with open(path) as f:
        return json.load(f)


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def run_seed(study, seed, split, out_dir, log):
    t0, c0 = time.time(), cpu_seconds()
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    p = study["pipeline"]
    root = p["data"]["root"]
    if p["data"]["kind"] != "fashion-mnist":
        raise SystemExit("twin: only fashion-mnist studies are supported")
    images, labels = D.fashion_mnist(root, "train")
    test_images, test_labels = D.fashion_mnist(root, "t10k")
    tr, va = split["train"], split.get("val", [])
    train_images, train_labels = [images[i] for i in tr], labels[tr]
    pre = p["pretrain"]
    size = pre["imageSize"]
    if pre["augmentation"] != "mocov2":
        raise SystemExit("twin: only the MoCo v2 augmentation is implemented")

    # phase 1 on the training images without their labels
    t1 = time.time()
    backbone, phase1 = pretrain(pre, D.Images(train_images, train_labels, D.moco_view(size, pre["blurProbability"]), views=2), log)
    log(f"phase 1 took {time.time() - t1:.0f} s")

    num_classes = int(labels.max()) + 1
    rows, phase2 = {}, {}
    evals = {}  # the eval transform is deterministic: each split transformed once per (size, resize)

    def ev(split, size, resize):
        if (split, size, resize) not in evals:
            ims = {"val": [images[i] for i in va], "test": test_images, "train": train_images}[split]
            evals[(split, size, resize)] = D.eval_tensors(ims, size, resize)
        return evals[(split, size, resize)]

    for key in ROWS:
        cfg = dict(p[key])
        cfg["model"] = cfg.get("model") or pre["model"]  # the pipeline trains every row on the phase-1 network
        size = cfg["imageSize"]
        resize = cfg["evalResize"] or int(size / 0.875)
        val = (ev("val", size, resize), labels[va]) if va else None
        train_set = D.Images(train_images, train_labels, D.train_view(size))
        model, last, best, secs, dlog = train_row(cfg, train_set, val, None if key == "supervised" else backbone, num_classes, log, key)
        t_eval = time.time()
        test1, test5 = accuracy(model, ev("test", size, resize), test_labels)
        train1, _ = accuracy(model, ev("train", size, resize), train_labels)
        rows[key] = {"val_top1_last": last, "val_top1_best": best, "test_top1": test1, "test_top5": test5, "train_top1": train1,
                     "seconds": secs + time.time() - t_eval}
        log(f"{key}: val {last:.4f} test {test1:.4f} train {train1:.4f} ({rows[key]['seconds']:.0f} s)")
        if dlog:
            write_json(os.path.join(out_dir, "distill.json"), dlog)
            last_epoch = dlog[-1]
            phase2 = {"ce": last_epoch["ce"], "distill": last_epoch["distill"]}
            phase2.update({f"distill_{i + 1}": v for i, v in enumerate(last_epoch["distill_stages"])})
    return {"implementation": "pytorch-twin", "seed": seed, "splitSeed": split["split_seed"], "rows": rows, "phase1": phase1, "phase2": phase2,
            "seconds": time.time() - t0, "cpuSeconds": cpu_seconds() - c0}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--study", required=True, help="the dvp study folder (study.json, seed-<s>/split.json)")
    ap.add_argument("--out", required=True, help="where seed-<s>/seed.json go")
    ap.add_argument("--seeds", type=int, help="how many of the study's seeds (default: all of them)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    study = load_json(os.path.join(a.study, "study.json"))
    n = a.seeds or study["seeds"]
    os.makedirs(a.out, exist_ok=True)
    for i in range(n):
        seed = study["firstSeed"] + i
        d = os.path.join(a.out, f"seed-{seed}")
        if os.path.exists(os.path.join(d, "seed.json")):
            print(f"twin: seed {seed} already finished in {d}", flush=True)
            continue
        split_file = os.path.join(a.study, f"seed-{seed}", "split.json")
        if not os.path.exists(split_file):
            raise SystemExit(f"twin: {split_file} is missing: run the dvp study for seed {seed} first (it writes the split)")
        os.makedirs(d, exist_ok=True)
        logf = open(os.path.join(d, "log.txt"), "a")

        def log(msg):
            line = f"[seed {seed}] {msg}"
            print(line, flush=True)
            logf.write(line + "\n")
            logf.flush()

        log(f"torch {torch.__version__}, {torch.get_num_threads()} threads; seed {i + 1}/{n}")
        r = run_seed(study, seed, load_json(split_file), d, log)
        write_json(os.path.join(d, "seed.json"), r)
        log(f"done in {r['seconds']:.0f} s ({r['cpuSeconds']:.0f} CPU-s); phase 2 - finetune "
            f"{100 * (r['rows']['distill']['test_top1'] - r['rows']['finetune']['test_top1']):+.1f} test top-1")
        logf.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
