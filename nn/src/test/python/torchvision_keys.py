"""Writes torchvision's ResNet state_dict key lists (key, dtype, shape) that dvp's ResNet must match.

Run with Debian's python3 (torch 1.13, torchvision 0.14):
    /usr/bin/python3 nn/src/test/python/torchvision_keys.py nn/src/test/resources/dvp/nn/models
One file per architecture, one line per state_dict entry in order: "<key> <dtype> <d0,d1,...>".
"""
import sys
import torch
import torchvision

out = sys.argv[1]
dtypes = {torch.float32: "F32", torch.int64: "I64"}
for name in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d"]:
    model = getattr(torchvision.models, name)()
    with open(f"{out}/{name}.keys.txt", "w") as f:
        f.write(f"# torchvision {torchvision.__version__} models.{name}().state_dict()\n")
        for k, v in model.state_dict().items():
            f.write(f"{k} {dtypes[v.dtype]} {','.join(str(d) for d in v.shape)}\n")
