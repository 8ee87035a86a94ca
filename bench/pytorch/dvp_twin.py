#!/usr/bin/python3
"""The PyTorch twin of dvp's Table 1 pipeline: see twin/run.py (usage) and docs/study.md.

    /usr/bin/python3 bench/pytorch/dvp_twin.py --study runs/study-X --out runs/twin-X
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from twin.run import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
