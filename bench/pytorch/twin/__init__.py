"""A PyTorch twin of dvp's Table 1 pipeline (issue 20), written from the reference recipe
(shared ALGORITHMS.md: MoCo v2 + margin with split BN and key shuffling, OFD self-distillation with
pre-ReLU features, BN-derived margins and conv+BN connectors), not from dvp's Java. It reads the
settings and data split of a dvp study folder and writes seed-<s>/seed.json in the same schema,
so `dvp study --resume STUDY --twin OUT` puts both side by side. Entry point: run.py."""
