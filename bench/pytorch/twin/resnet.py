"""torchvision's ResNet (v1.5) as OFD's ImageNet/models/ResNet.py writes it (ALGORITHMS §3.1): each
block applies ReLU to its *input* and returns bn_last(...) + shortcut without a ReLU, the network
applies ReLU after the last stage, so forward_features() can return the four stage outputs before
their ReLU. Same parameters and state-dict keys as torchvision's; functionally identical to it.

Beyond torchvision, the study's small-network options: input channels, a small-image stem (3x3
stride-1 conv, no max-pool), a width multiplier (stem round(64 m), stage planes round(64 2^i m)),
blocks per stage, and a norm-layer factory (split BN for MoCo, below).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def scaled(width, m):
    return max(1, int(math.floor(width * m + 0.5)))


class SplitBatchNorm(nn.BatchNorm2d):
    """MoCo's single-GPU substitute for shuffle BN (facebookresearch/moco colab demo): in training the
    batch is cut into num_splits equal groups, each normalised with its own statistics; the running
    mean and variance are the average over the groups. In eval mode it is plain BN."""

    def __init__(self, num_features, num_splits):
        super().__init__(num_features)
        self.num_splits = num_splits

    def forward(self, x):
        n, c, h, w = x.shape
        if self.training or not self.track_running_stats:
            s = self.num_splits
            if n % s:
                raise ValueError(f"split BN: batch {n} is not a multiple of {s} splits")
            rm, rv = self.running_mean.repeat(s), self.running_var.repeat(s)
            out = F.batch_norm(x.view(-1, c * s, h, w), rm, rv, self.weight.repeat(s), self.bias.repeat(s),
                               True, self.momentum, self.eps).view(n, c, h, w)
            self.running_mean.data.copy_(rm.view(s, c).mean(dim=0))
            self.running_var.data.copy_(rv.view(s, c).mean(dim=0))
            return out
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, self.momentum, self.eps)


def norm_factory(splits):
    return (lambda c: SplitBatchNorm(c, splits)) if splits > 1 else nn.BatchNorm2d


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride, downsample, norm):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = norm(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = norm(planes)
        self.downsample = downsample

    def final_bn(self):
        return self.bn2

    def forward(self, x):  # x: the previous stage's pre-ReLU output
        x = F.relu(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return out + (self.downsample(x) if self.downsample is not None else x)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride, downsample, norm):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = norm(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = norm(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = norm(planes * 4)
        self.downsample = downsample

    def final_bn(self):
        return self.bn3

    def forward(self, x):
        x = F.relu(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return out + (self.downsample(x) if self.downsample is not None else x)


ARCHS = {"resnet18": (BasicBlock, [2, 2, 2, 2]), "resnet34": (BasicBlock, [3, 4, 6, 3]),
         "resnet50": (Bottleneck, [3, 4, 6, 3]), "resnet101": (Bottleneck, [3, 4, 23, 3])}


class ResNet(nn.Module):
    def __init__(self, spec, num_classes, bn_splits=1):
        """spec: dvp's ModelSpec as study.json writes it (arch, inChannels, smallStem, widthMultiplier, blocks)."""
        super().__init__()
        if spec["arch"] not in ARCHS:
            raise ValueError(f"twin: unsupported architecture {spec['arch']} (supported: {sorted(ARCHS)})")
        block, layers = ARCHS[spec["arch"]]
        if spec.get("blocks"):
            layers = list(spec["blocks"])
        m, norm = spec.get("widthMultiplier", 1.0), norm_factory(bn_splits)
        inplanes = scaled(64, m)
        if spec.get("smallStem"):
            self.conv1 = nn.Conv2d(spec["inChannels"], inplanes, 3, 1, 1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(spec["inChannels"], inplanes, 7, 2, 3, bias=False)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.bn1 = norm(inplanes)
        stages = []
        for i, n in enumerate(layers):
            planes, stride = scaled(64 << i, m), (1 if i == 0 else 2)
            blocks = []
            for j in range(n):
                s = stride if j == 0 else 1
                down = None
                if j == 0 and (s != 1 or inplanes != planes * block.expansion):
                    down = nn.Sequential(nn.Conv2d(inplanes, planes * block.expansion, 1, s, bias=False), norm(planes * block.expansion))
                blocks.append(block(inplanes, planes, s, down, norm))
                inplanes = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = inplanes
        self.fc = nn.Linear(inplanes, num_classes)
        # torchvision's init: He-normal fan_out convs, BN gamma 1 beta 0, fc PyTorch's Linear default
        for mod in self.modules():
            if isinstance(mod, nn.Conv2d):
                nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(mod, nn.BatchNorm2d):
                nn.init.ones_(mod.weight)
                nn.init.zeros_(mod.bias)

    def stages(self):
        return [self.layer1, self.layer2, self.layer3, self.layer4]

    def stage_channels(self):
        return [s[-1].final_bn().num_features for s in self.stages()]

    def stage_final_bn(self, i):
        """The BN feeding stage i's last residual sum: OFD's margin comes from its gamma and beta."""
        return self.stages()[i][-1].final_bn()

    def use_mlp_head(self, dim):
        """MoCo v2's head: fc -> Linear(d, d), ReLU, Linear(d, dim)."""
        d = self.feature_dim
        self.fc = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, dim))

    def forward_features(self, x):
        """(four pre-ReLU stage outputs, logits)."""
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        feats = []
        for stage in self.stages():
            x = stage(x)
            feats.append(x)
        x = torch.flatten(self.avgpool(F.relu(x)), 1)
        return feats, self.fc(x)

    def forward(self, x):
        return self.forward_features(x)[1]
