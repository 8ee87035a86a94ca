"""Phase 2's distiller: Overhaul of Feature Distillation (clovaai/overhaul-distillation
ImageNet/distiller.py as DVP's sup_train_distill/distiller.py uses it; ALGORITHMS §3.2-3.5).

- margins from the teacher's last-block BN of each stage (gamma, beta; not the running stats):
  E[x | x < 0] for x ~ N(beta, |gamma|^2) when P(x < 0) > 0.001, else -3|gamma|;
- connectors Conv1x1(Cs -> Ct, no bias, N(0, sqrt(2/Ct))) + BN(Ct), trained with the student;
- partial L2 against max(t, margin): no loss where student <= target <= 0, summed over every
  element, stage weights 1/2^(4-i), divided by the batch and multiplied by lambda.
"""
import math

import torch
import torch.nn as nn


def _norm_pdf(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _norm_cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


def margin_from_bn(bn):
    s, m = bn.weight.data.abs(), bn.bias.data
    out = []
    for sv, mv in zip(s.tolist(), m.tolist()):
        if sv == 0:  # the original divides by zero here (ALGORITHMS §3.2): guard it
            out.append(0.0)
        elif _norm_cdf(-mv / sv) > 0.001:
            out.append(mv - sv * _norm_pdf(mv / sv) / _norm_cdf(-mv / sv))
        else:
            out.append(-3 * sv)
    return torch.tensor(out, dtype=torch.float32)


def connector(cs, ct):
    conv = nn.Conv2d(cs, ct, 1, 1, 0, bias=False)
    n = conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels
    conv.weight.data.normal_(0, math.sqrt(2.0 / n))
    bn = nn.BatchNorm2d(ct)
    bn.weight.data.fill_(1)
    bn.bias.data.zero_()
    return nn.Sequential(conv, bn)


def partial_l2(source, target, margin):
    target = torch.max(target, margin)
    mask = ((source > target) | (target > 0)).float()
    return ((source - target) ** 2 * mask).sum()


class Distiller(nn.Module):
    def __init__(self, teacher, student, lam, stage_weights, teacher_train_mode, margins="bn", connectors="conv-bn"):
        """margins 'zero' and connectors 'identity' are the study's ablations (not the recipe)."""
        super().__init__()
        self.t_net, self.s_net = teacher, student
        pairs = list(zip(student.stage_channels(), teacher.stage_channels()))
        if connectors == "identity":
            if any(cs != ct for cs, ct in pairs):
                raise ValueError(f"identity connectors need equal stage channels, got {pairs}")
            self.connectors = nn.ModuleList([nn.Identity() for _ in pairs])
        else:
            self.connectors = nn.ModuleList([connector(cs, ct) for cs, ct in pairs])
        for i in range(4):
            m = margin_from_bn(teacher.stage_final_bn(i))
            if margins == "zero":
                m = torch.zeros_like(m)
            self.register_buffer(f"margin{i}", m.view(1, -1, 1, 1))
        for p in teacher.parameters():
            p.requires_grad = False
        self.lam, self.stage_weights, self.teacher_train_mode = lam, stage_weights, teacher_train_mode

    def margins(self):
        return [getattr(self, f"margin{i}") for i in range(4)]

    def train(self, mode=True):
        self.training = mode
        self.s_net.train(mode)
        self.connectors.train(mode)
        self.t_net.train(self.teacher_train_mode and mode)
        return self

    def forward(self, x):
        """(student logits, the distillation term, each stage's share of it: lambda * w_i * d_i / B)."""
        with torch.no_grad():
            t_feats, _ = self.t_net.forward_features(x)
        s_feats, logits = self.s_net.forward_features(x)
        b = x.shape[0]
        terms = [self.lam * w * partial_l2(self.connectors[i](s_feats[i]), t_feats[i].detach(), self.margins()[i]) / b
                 for i, w in enumerate(self.stage_weights)]
        return logits, sum(terms), [float(t) for t in terms]
