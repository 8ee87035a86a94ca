# Sourced by the GPU scripts: NVIDIA's pip wheels (PyTorch's cuBLAS/cuDNN) live in site-packages; put
# their lib folders on the loader path so dvp finds the same libraries there. Uses $PY (default python3).
_pylibs=$("${PY:-python3}" - <<'PY' 2>/dev/null
import glob, os, sys
dirs = []
for p in sys.path:
    for sub in ("nvidia/cu13/lib", "nvidia/cublas/lib", "nvidia/cudnn/lib"):
        dirs += [d for d in glob.glob(os.path.join(p, sub)) if os.path.isdir(d)]
print(":".join(dict.fromkeys(dirs)))
PY
)
[ -n "$_pylibs" ] && export LD_LIBRARY_PATH="$_pylibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
unset _pylibs
