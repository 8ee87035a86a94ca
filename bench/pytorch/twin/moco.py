"""Phase 1: MoCo v2 with DVP's margin on the positive logit (ALGORITHMS §2; moco/builder.py with
DVP's MoCo_smallbank change), single-process: split BN in both encoders plus a random permutation
of the key batch stand in for shuffle BN (§2.5)."""
import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .resnet import ResNet


class MoCo(nn.Module):
    def __init__(self, spec, dim, K, m, T, margin, bn_splits):
        super().__init__()
        self.K, self.m, self.T, self.margin = K, m, T, margin
        self.encoder_q = ResNet(spec, dim, bn_splits)
        self.encoder_q.use_mlp_head(dim)
        self.encoder_k = copy.deepcopy(self.encoder_q)  # param_k.data.copy_(param_q.data)
        for p in self.encoder_k.parameters():
            p.requires_grad = False
        self.register_buffer("queue", F.normalize(torch.randn(dim, K), dim=0))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

    @torch.no_grad()
    def _momentum_update_key_encoder(self):
        for pq, pk in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
            pk.data = pk.data * self.m + pq.data * (1.0 - self.m)

    @torch.no_grad()
    def _dequeue_and_enqueue(self, keys):
        b = keys.shape[0]
        ptr = int(self.queue_ptr)
        assert self.K % b == 0
        self.queue[:, ptr:ptr + b] = keys.T
        self.queue_ptr[0] = (ptr + b) % self.K

    def forward(self, im_q, im_k, shuffle_keys=True):
        """(loss, logits with the margin, logits without it); label 0 is the positive."""
        q = F.normalize(self.encoder_q(im_q), dim=1)
        with torch.no_grad():
            self._momentum_update_key_encoder()
            if shuffle_keys:
                idx = torch.randperm(im_k.shape[0])
                k = F.normalize(self.encoder_k(im_k[idx]), dim=1)[torch.argsort(idx)]
            else:
                k = F.normalize(self.encoder_k(im_k), dim=1)
        l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
        l_neg = torch.einsum("nc,ck->nk", [q, self.queue.clone().detach()])
        plain = torch.cat([l_pos, l_neg], dim=1)
        logits = torch.cat([l_pos - self.margin, l_neg], dim=1) / self.T
        loss = F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long))
        self._dequeue_and_enqueue(k)
        return loss, logits.detach(), plain.detach()

    def backbone_state_dict(self):
        """encoder_q without the MLP head (ALGORITHMS §2.6)."""
        return {k: v.clone() for k, v in self.encoder_q.state_dict().items() if not k.startswith("fc.")}


def topk_hits(logits, ks):
    """How many rows have label 0 among their top-k, for each k (the reference code's accuracy())."""
    maxk = min(max(ks), logits.shape[1])
    _, pred = logits.topk(maxk, 1, True, True)
    hit = pred.eq(0)
    return [int(hit[:, :min(k, maxk)].any(dim=1).sum()) for k in ks]


def cosine_lr(base, epoch, epochs):
    return base * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


def pretrain(cfg, images, log):
    """Trains MoCo on the unlabelled training images (Images dataset with 2 views); returns
    (backbone state dict, last epoch's means of loss, acc1_margin, acc5_margin, acc1, acc5)."""
    model = MoCo(cfg["model"], cfg["dim"], cfg["queueSize"], cfg["keyMomentum"], cfg["temperature"], cfg["margin"], cfg["bnSplits"])
    o = cfg["optim"]
    opt = torch.optim.SGD(model.encoder_q.parameters(), lr=o["lr"], momentum=o["momentum"], weight_decay=o["weightDecay"],
                          nesterov=o["nesterov"])
    if cfg["schedule"]["kind"] != "cosine":
        raise ValueError("twin: phase 1 supports the cosine schedule only (the MoCo v2 recipe)")
    loader = torch.utils.data.DataLoader(images, batch_size=cfg["batchSize"], shuffle=True, drop_last=True)
    epochs = cfg["epochs"]
    last = None
    for epoch in range(epochs):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(o["lr"], epoch, epochs)
        model.train()
        sums, count = [0.0] * 5, 0
        for (xq, xk), _ in loader:
            loss, logits, plain = model(xq, xk, cfg["shuffleKeys"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            n = xq.shape[0]
            m1, m5 = topk_hits(logits, (1, 5))
            p1, p5 = topk_hits(plain, (1, 5))
            for j, v in enumerate((float(loss) * n, m1, m5, p1, p5)):
                sums[j] += v
            count += n
        last = {k: s / count for k, s in zip(("loss", "acc1_margin", "acc5_margin", "acc1", "acc5"), sums)}
        if (epoch + 1) % max(1, epochs // 10) == 0 or epoch == epochs - 1:
            log(f"pretrain epoch {epoch + 1}/{epochs} " + " ".join(f"{k} {v:.4f}" for k, v in last.items()))
    return model.backbone_state_dict(), last
