#!/usr/bin/python3
"""PyTorch DataLoader + torchvision MoCo v2 "aug-plus" two-view augmentation on an ImageFolder:
the baseline for dvp's LoaderBench (same files, same machine, run back to back by
run-loader-bench.sh). The transform is MoCo's main_moco.py --aug-plus verbatim (PIL GaussianBlur).

usage: torchvision_moco.py DIR [--seconds S] [--warmup S] [--workers W] [--size 224]
--workers 0 runs everything in this process on one core ("per core"); W > 0 adds a W-process loader.
"""
import argparse
import random
import time

import torch
import torchvision.datasets as datasets
import torchvision.transforms as transforms
from PIL import ImageFilter


class GaussianBlur(object):
    """Gaussian blur augmentation in SimCLR https://arxiv.org/abs/2002.05709 (as in MoCo's moco/loader.py)"""

    def __init__(self, sigma=[.1, 2.]):
        self.sigma = sigma

    def __call__(self, x):
        sigma = random.uniform(self.sigma[0], self.sigma[1])
        return x.filter(ImageFilter.GaussianBlur(radius=sigma))


class TwoCropsTransform:
    def __init__(self, base_transform):
        self.base_transform = base_transform

    def __call__(self, x):
        return [self.base_transform(x), self.base_transform(x)]


def measure(ds, workers, warmup, seconds, batch):
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True,
                                         persistent_workers=workers > 0)
    n, t0, c0, start = 0, None, None, time.perf_counter()
    while True:
        for images, _ in loader:
            now = time.perf_counter()
            if t0 is None:
                if now - start >= warmup:
                    t0, c0 = now, time.process_time()
                continue
            n += images[0].shape[0]
            if now - t0 >= seconds:
                # CPU time of this process only: meaningful per core with num_workers=0
                return n / (now - t0), n, now - t0, time.process_time() - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--size", type=int, default=224)
    a = ap.parse_args()
    torch.set_num_threads(1)
    normalize = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    augmentation = [
        transforms.RandomResizedCrop(a.size, scale=(0.2, 1.)),
        transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        transforms.RandomGrayscale(p=0.2),
        transforms.RandomApply([GaussianBlur([.1, 2.])], p=0.5),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        normalize,
    ]
    ds = datasets.ImageFolder(a.dir, TwoCropsTransform(transforms.Compose(augmentation)))
    import torchvision, PIL
    print(f"torchvision {torchvision.__version__} (torch {torch.__version__}, PIL {PIL.__version__}) MoCo v2 two-view {a.size}px on {len(ds)} images")
    rate, n, s, cpu = measure(ds, 0, a.warmup, a.seconds, 32)
    print(f"RESULT torchvision per-core (num_workers=0): {rate:.1f} images/s wall, {n / cpu:.1f} images per CPU-second ({n} images in {s:.1f} s, {cpu:.1f} CPU-s)")
    if a.workers > 0:
        rate, n, s, _ = measure(ds, a.workers, a.warmup, a.seconds, 64)
        print(f"RESULT torchvision DataLoader (num_workers={a.workers}, batch 64): {rate:.1f} images/s ({n} images in {s:.1f} s)")


if __name__ == "__main__":
    main()
