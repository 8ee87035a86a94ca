"""Loads dvp model files into torchvision (no safetensors package needed) and reports, as JSON:
the keys torchvision's load_state_dict(strict=False) finds missing/unexpected for the backbone file,
and the eval-mode logits of the classifier file on the input stored in input.safetensors.
Usage: load_dvp_model.py BACKBONE.safetensors CLASSIFIER.safetensors INPUT.safetensors ARCH"""
import json, struct, sys
import numpy as np
import torch, torchvision

DT = {"F32": np.float32, "I64": np.int64, "F16": np.float16, "I32": np.int32}

def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype=DT[v["dtype"]]).reshape(v["shape"]).copy())
    return out

backbone, classifier, inp, arch = sys.argv[1:5]
m = getattr(torchvision.models, arch)()
r = m.load_state_dict(read(backbone), strict=False)
report = {"missing": sorted(r.missing_keys), "unexpected": sorted(r.unexpected_keys)}
sd = read(classifier)
m = getattr(torchvision.models, arch)(num_classes=sd["fc.weight"].shape[0])
m.load_state_dict(sd, strict=True)
m.eval()
with torch.no_grad():
    report["logits"] = m(read(inp)["x"]).flatten().tolist()
print(json.dumps(report))
