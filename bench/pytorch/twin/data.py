"""Fashion-MNIST from its IDX files, the study's split, and the torchvision transforms of each phase.

Images stay PIL 'L' (1 channel, 28 px), as torchvision.datasets.FashionMNIST gives them.
Transforms are the reference recipe's (ALGORITHMS §4) at the study's image size:
  phase 1  RandomResizedCrop(scale 0.2-1) -> RandomApply(ColorJitter(0.4,0.4,0.4,0.1), 0.8)
           -> RandomGrayscale(0.2) -> RandomApply(GaussianBlur(PIL radius sigma~U[0.1,2]), p)
           -> RandomHorizontalFlip -> ToTensor -> Normalize
  labelled RandomResizedCrop(default scale 0.08-1) -> RandomHorizontalFlip -> ToTensor -> Normalize
  eval     Resize(shorter side to eval_resize) -> CenterCrop(size) -> ToTensor -> Normalize
"""
import gzip
import os
import random
import struct

import numpy as np
import torch
from PIL import Image, ImageFilter
from torchvision import transforms as T

# Fashion-MNIST's statistics (dvp uses the same for this data)
MEAN, STD = (0.2860,), (0.3530,)


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        dims = [struct.unpack(">I", f.read(4))[0] for _ in range(magic & 0xFF)]
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def find(root, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(root, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{stem}(.gz) not found in {root}")


def fashion_mnist(root, prefix):
    """(list of PIL 'L' images, int64 label tensor) of train or t10k."""
    x = read_idx(find(root, f"{prefix}-images-idx3-ubyte"))
    y = read_idx(find(root, f"{prefix}-labels-idx1-ubyte"))
    return [Image.fromarray(a, mode="L") for a in x], torch.as_tensor(y.astype(np.int64))


class Images(torch.utils.data.Dataset):
    """Images with labels and a transform; views > 1 returns that many independent draws (MoCo's two views)."""

    def __init__(self, images, labels, transform, views=1):
        self.images, self.labels, self.transform, self.views = images, labels, transform, views

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        im = self.images[i]
        if self.views == 1:
            return self.transform(im), self.labels[i]
        return [self.transform(im) for _ in range(self.views)], self.labels[i]


class PilGaussianBlur:
    """MoCo v2's blur: PIL GaussianBlur with radius sigma ~ U[0.1, 2.0] (moco/loader.py)."""

    def __init__(self, sigma=(0.1, 2.0)):
        self.sigma = sigma

    def __call__(self, im):
        return im.filter(ImageFilter.GaussianBlur(radius=random.uniform(*self.sigma)))


def moco_view(size, blur_p):
    ops = [T.RandomResizedCrop(size, scale=(0.2, 1.0)),
           T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
           T.RandomGrayscale(p=0.2)]
    if blur_p > 0:
        ops.append(T.RandomApply([PilGaussianBlur()], p=blur_p))
    ops += [T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)]
    return T.Compose(ops)


def train_view(size):
    return T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])


def eval_view(size, resize):
    return T.Compose([T.Resize(resize), T.CenterCrop(size), T.ToTensor(), T.Normalize(MEAN, STD)])


def eval_tensors(images, size, resize):
    """The eval transform is deterministic: apply it once, keep the stacked tensor."""
    tf = eval_view(size, resize)
    return torch.stack([tf(im) for im in images])
