#!/usr/bin/python3
"""PyTorch reference for dvp's parity suite (dvp.nn.parity.* JUnit tests).

Runs as a small server so torch is imported once per test JVM: each stdin line names a case
input file and an output file (tab-separated); the script answers one stdout line, "ok" or
"error <message>" (details on stderr). Everything else it prints goes to stderr.

A case input is a safetensors file written by dvp: its __metadata__ says what to build
("module": Conv2d, BatchNorm2d, MaxPool2d, Linear, CrossEntropyLoss, a torchvision model, ...)
and what to run ("run": "forward_backward", "sgd_steps", "sgd_fixed_grads", ...); its tensors
are the module's state dict under "state.", the inputs, and upstream gradients. dvp exports its
own weights, and torch loads them with strict=True, so both sides compute from the same numbers.
The output file holds torch's results under agreed names (see each runner).

Needs only Debian's python3-torch, python3-torchvision and python3-numpy; safetensors is read
and written here with numpy (the format is an 8-byte length, a JSON header and raw bytes).
"""
import json
import struct
import sys
import time
import traceback

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models import resnet as tv_resnet

REPLY = sys.stdout
sys.stdout = sys.stderr  # nothing but replies may reach the reply channel

NP_OF = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
         "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
ST_OF = {np.dtype(v).str[1:]: k for k, v in NP_OF.items()}
# the reference writer's dtype order (ascending alignment); it writes descending, then by name
ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16", "U16", "F16", "BF16",
         "I32", "U32", "F32", "C64", "F64", "I64", "U64"]


# ---- safetensors with numpy ------------------------------------------------------------------------

def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    out = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        if e["dtype"] == "BF16":
            raw = np.frombuffer(data[begin:end], dtype="<u2").astype(np.uint32) << 16
            arr = raw.view(np.float32)
        else:
            arr = np.frombuffer(data[begin:end], dtype=np.dtype(NP_OF[e["dtype"]]).newbyteorder("<"))
        out[name] = arr.reshape(e["shape"]).copy()
    return out, meta


def write_safetensors(path, tensors, meta=None):
    items = []
    for name, a in tensors.items():
        a = np.asarray(a, order="C")  # (ascontiguousarray would turn 0-d scalars into shape [1])
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        items.append((name, ST_OF[a.dtype.str[1:]], a))
    items.sort(key=lambda t: (-ORDER.index(t[1]), t[0].encode("utf-8")))
    header, offset = {}, 0
    if meta:
        header["__metadata__"] = {str(k): str(v) for k, v in meta.items()}
    for name, dt, a in items:
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, _, a in items:
            f.write(a.tobytes())


# ---- building modules ------------------------------------------------------------------------------

def i(meta, key, default=None):
    return int(meta[key]) if key in meta else default


def build(meta):
    """The torch module a case names; hyperparameters come from the metadata."""
    kind = meta["module"]
    if kind == "Conv2d":
        return nn.Conv2d(i(meta, "in"), i(meta, "out"), i(meta, "kernel"), stride=i(meta, "stride", 1),
                         padding=i(meta, "padding", 0), groups=i(meta, "groups", 1), bias=meta.get("bias") == "true")
    if kind == "BatchNorm2d":
        momentum = meta.get("momentum", "0.1")
        return nn.BatchNorm2d(i(meta, "features"), eps=float(meta.get("eps", 1e-5)),
                              momentum=None if momentum == "none" else float(momentum))
    if kind == "MaxPool2d":
        return nn.MaxPool2d(i(meta, "kernel"), stride=i(meta, "stride"), padding=i(meta, "padding", 0))
    if kind == "Linear":
        return nn.Linear(i(meta, "in"), i(meta, "out"), bias=meta.get("bias", "true") == "true")
    if kind == "CrossEntropyLoss":
        return nn.Identity()  # the loss is applied by the runner; the "module" passes logits through
    if kind == "torchvision":
        return getattr(torchvision.models, meta["arch"])(num_classes=i(meta, "classes", 1000))
    if kind == "ResNet":  # torchvision's own ResNet class at a custom depth/cardinality (small ResNeXt)
        block = {"basic": tv_resnet.BasicBlock, "bottleneck": tv_resnet.Bottleneck}[meta["block"]]
        layers = [int(v) for v in meta["layers"].split(",")]
        return tv_resnet.ResNet(block, layers, num_classes=i(meta, "classes", 1000),
                                groups=i(meta, "groups", 1), width_per_group=i(meta, "width_per_group", 64))
    raise ValueError("unknown module " + kind)


def state_of(tensors, prefix="state."):
    return {k[len(prefix):]: torch.from_numpy(v) for k, v in tensors.items() if k.startswith(prefix)}


def load_module(meta, tensors, dtype):
    m = build(meta)
    m.load_state_dict(state_of(tensors), strict=True)  # dvp's export must match torch's keys and shapes exactly
    return m.to(dtype)


def as_t(a, dtype):
    t = torch.from_numpy(a)
    return t.to(dtype) if t.is_floating_point() else t


def np_out(t):
    return t.detach().cpu().numpy().copy()  # a copy: .numpy() would alias tensors the optimizer updates in place


# ---- runners ---------------------------------------------------------------------------------------

def forward_backward(meta, tensors, dtype, suffix):
    """y = module(x) in train or eval mode; backward of sum(y * dy) or of the cross-entropy of y."""
    m = load_module(meta, tensors, dtype)
    m.train(meta.get("mode", "train") == "train")
    decisions = follow_decisions(m, tensors, meta)
    x = as_t(tensors["x"], dtype).requires_grad_(meta.get("input_grad", "true") == "true")
    y = m(x)
    out = {"y" + suffix: np_out(y)}
    out.update(decision_outputs(decisions, meta, suffix))
    if "labels" in tensors:
        loss = F.cross_entropy(y, torch.from_numpy(tensors["labels"]), label_smoothing=float(meta.get("smoothing", 0)))
        out["loss" + suffix] = np_out(loss).reshape(())
        loss.backward()
    else:
        y.backward(as_t(tensors["dy"], dtype))
    if x.requires_grad:
        out["dx" + suffix] = np_out(x.grad)
    for name, p in m.named_parameters():
        out["grad." + name + suffix] = np_out(p.grad)
    for name, b in m.state_dict().items():
        if name not in dict(m.named_parameters()):
            out["state." + name + suffix] = np_out(b)
    return out


def follow_decisions(m, tensors, meta):
    """Makes torch take dvp's discrete decisions, so that what is compared is arithmetic:
    the k-th nn.ReLU call outputs x * relu_mask.k (dvp's x > 0), and the k-th nn.MaxPool2d call
    takes the element at dvp's argmax maxpool_index.k (flat h*W+w in each plane). Records how many
    decisions differ from torch's own and the largest |x| / max|x| (ReLU) or gap between the two
    candidates / max|x| (max-pool) among them: tiny values mean rounding-level kinks or near-ties."""
    stats = {"relu": [0, 0, 0, 0.0], "maxpool": [0, 0, 0, 0.0]}  # calls, elements, flips, margin

    def note(kind, differ, gaps, scale, elements):
        st = stats[kind]
        st[0] += 1
        st[1] += elements
        if differ.any():
            st[2] += int(differ.sum().item())
            st[3] = max(st[3], gaps[differ].max().item() / scale)

    def relu_hook(mod, inp, out):
        k = stats["relu"][0]
        x = inp[0]
        mask = torch.from_numpy(decision(tensors, "relu_mask", k, x.shape).astype(bool))
        own = x.detach() > 0
        note("relu", own != mask, x.detach().abs(), x.detach().abs().max().item(), mask.numel())
        return x * mask.to(x.dtype)

    def pool_hook(mod, inp, out):
        k = stats["maxpool"][0]
        x = inp[0]
        n, c, h, w = x.shape
        idx = torch.from_numpy(decision(tensors, "maxpool_index", k, out.shape)).long()
        flat = x.reshape(n, c, h * w)
        picked = flat.gather(2, idx.reshape(n, c, -1))
        _, own = F.max_pool2d(x.detach(), mod.kernel_size, mod.stride, mod.padding, return_indices=True)
        gaps = (flat.detach().gather(2, own.reshape(n, c, -1)) - picked.detach()).abs().reshape(out.shape)
        note("maxpool", own != idx, gaps, x.detach().abs().max().item(), idx.numel())
        return picked.reshape(out.shape)

    for mod in m.modules():
        if isinstance(mod, nn.ReLU) and "relu_masks" in meta:
            mod.inplace = False  # the hook needs the pre-activation
            mod.register_forward_hook(relu_hook)
        if isinstance(mod, nn.MaxPool2d) and "maxpool_indices" in meta:
            mod.register_forward_hook(pool_hook)
    return stats


def decision(tensors, prefix, k, shape):
    key = "%s.%d" % (prefix, k)
    if key not in tensors:
        raise ValueError("torch made more %s decisions than dvp sent (%d)" % (prefix, k))
    a = tensors[key]
    if tuple(a.shape) != tuple(shape):
        raise ValueError("%s: dvp's shape %s, torch's %s" % (key, tuple(a.shape), tuple(shape)))
    return a


def decision_outputs(stats, meta, suffix):
    out = {}
    for kind, count_key in (("relu", "relu_masks"), ("maxpool", "maxpool_indices")):
        if count_key not in meta:
            continue
        calls, elements, flips, margin = stats[kind]
        if calls != i(meta, count_key):
            raise ValueError("dvp sent %s %s decisions but torch made %d" % (meta[count_key], kind, calls))
        out["%s_calls%s" % (kind, suffix)] = np.array([calls], dtype=np.int64)
        out["%s_elements%s" % (kind, suffix)] = np.array([elements], dtype=np.int64)
        out["%s_flips%s" % (kind, suffix)] = np.array([flips], dtype=np.int64)
        out["%s_flip_margin%s" % (kind, suffix)] = np.array([margin], dtype=np.float64)
    return out


def sgd_steps(meta, tensors, dtype, suffix):
    """k training steps (cross-entropy, torch.optim.SGD) from dvp's weights; returns the final state."""
    m = load_module(meta, tensors, dtype)
    m.train()
    decisions = follow_decisions(m, tensors, meta)
    opt = make_sgd(meta, m.named_parameters())
    out = {}
    for k in range(i(meta, "steps")):
        opt.zero_grad()
        logits = m(as_t(tensors["x%d" % k], dtype))
        loss = F.cross_entropy(logits, torch.from_numpy(tensors["labels%d" % k]), label_smoothing=float(meta.get("smoothing", 0)))
        loss.backward()
        opt.step()
        out["loss%d%s" % (k, suffix)] = np_out(loss).reshape(())
    for name, v in m.state_dict().items():
        out["state." + name + suffix] = np_out(v)
    for name, p in m.named_parameters():
        out["grad." + name + suffix] = np_out(p.grad)  # the last step's gradients
        buf = opt.state[p].get("momentum_buffer")
        if buf is not None:
            out["momentum." + name + suffix] = np_out(buf)
    out.update(decision_outputs(decisions, meta, suffix))
    return out


def sgd_fixed_grads(meta, tensors, dtype, suffix):
    """k SGD steps on bare parameters "p.<name>" with given gradients "g<k>.<name>"."""
    params = {k[2:]: nn.Parameter(as_t(v, dtype)) for k, v in tensors.items() if k.startswith("p.")}
    opt = make_sgd(meta, params.items())
    out = {}
    for k in range(i(meta, "steps")):
        opt.zero_grad()
        for name, p in params.items():
            p.grad = as_t(tensors["g%d.%s" % (k, name)], dtype)
        opt.step()
        for name, p in params.items():
            out["p%d.%s%s" % (k, name, suffix)] = np_out(p)
    return out


def make_sgd(meta, named_params):
    """SGD as in the metadata; "fc_lr" puts parameters named fc.* into a second group with that lr."""
    kw = dict(lr=float(meta["lr"]), momentum=float(meta.get("momentum", 0)), dampening=float(meta.get("dampening", 0)),
              weight_decay=float(meta.get("weight_decay", 0)), nesterov=meta.get("nesterov") == "true")
    named = list(named_params)
    if "fc_lr" in meta:
        rest = [p for n, p in named if not n.startswith("fc.")]
        fc = [p for n, p in named if n.startswith("fc.")]
        return torch.optim.SGD([{"params": rest}, {"params": fc, "lr": float(meta["fc_lr"])}], **kw)
    return torch.optim.SGD([p for _, p in named], **kw)


def torchvision_state_dict(meta, tensors, dtype, suffix):
    """A torchvision model with torch's own random init (BN statistics moved by one training
    forward), saved as a plain safetensors state dict to meta["model_file"] the way a user would,
    and its eval-mode output on x, for dvp to load and reproduce."""
    torch.manual_seed(i(meta, "seed", 0))
    m = build(meta)
    with torch.no_grad():
        m.train()
        m(as_t(tensors["warmup"], torch.float32))  # running stats and num_batches_tracked become non-trivial
        m.eval()
        y = m(as_t(tensors["x"], torch.float32))
    write_safetensors(meta["model_file"], {k: np_out(v) for k, v in m.state_dict().items()}, {"format": "pt"})
    return {"y": np_out(y)}


def load_dvp_file(meta, tensors, dtype, suffix):
    """Loads a state dict file written by dvp into the torchvision model with strict=True and
    returns the eval-mode output on x (and the loaded state, to compare value by value)."""
    m = build(meta)
    state, _ = read_safetensors(meta["model_file"])
    m.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    m.eval()
    with torch.no_grad():
        y = m(as_t(tensors["x"], torch.float32))
    return {"y": np_out(y), "keys": np.array([len(m.state_dict())], dtype=np.int64)}


RUNNERS = {"forward_backward": forward_backward, "sgd_steps": sgd_steps, "sgd_fixed_grads": sgd_fixed_grads,
           "torchvision_state_dict": torchvision_state_dict, "load_dvp_file": load_dvp_file}


def run_case(in_path, out_path):
    tensors, meta = read_safetensors(in_path)
    runner = RUNNERS[meta["run"]]
    out = runner(meta, tensors, torch.float32, "")
    if meta.get("float64") == "true":  # the same computation in float64: the noise floor of fp32
        out.update(runner(meta, tensors, torch.float64, "@f64"))
    write_safetensors(out_path, out, {"torch": torch.__version__, "torchvision": torchvision.__version__})


def main():
    torch.manual_seed(0)
    if len(sys.argv) == 3:  # one-shot: torch_parity.py in.safetensors out.safetensors
        run_case(sys.argv[1], sys.argv[2])
        return
    print("ready torch %s torchvision %s" % (torch.__version__, torchvision.__version__), file=REPLY, flush=True)
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        start = time.time()
        try:
            in_path, out_path = line.split("\t")
            run_case(in_path, out_path)
            print("ok %.3f" % (time.time() - start), file=REPLY, flush=True)
        except Exception as e:  # report and keep serving: one broken case must not take down the suite
            traceback.print_exc(file=sys.stderr)
            msg = ("%s: %s" % (type(e).__name__, e)).replace("\n", " | ")
            print("error " + msg, file=REPLY, flush=True)


if __name__ == "__main__":
    main()
