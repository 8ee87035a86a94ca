#!/usr/bin/env python3
"""chart.png from chart.csv with matplotlib, for a machine where Java's headless AWT cannot draw (no
fontconfig or fonts); the same chart as dvp.training.perf.BenchChart: one group per scenario, one bar per
series, height = speed relative to the reference series. Usage: chart_fallback.py chart.csv chart.png"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    with open(src, newline="") as f:
        rows = list(csv.reader(f))
    reference = rows[0][2].removeprefix("speed_relative_to_")
    scenarios, series, value = [], [], {}
    for sc, s, v in rows[1:]:
        if sc not in scenarios:
            scenarios.append(sc)
        if s not in series:
            series.append(s)
        value[sc, s] = float(v)
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(9, 1.4 * len(scenarios)), 5.6))
    for i, s in enumerate(series):
        xs = [j + i * width for j, sc in enumerate(scenarios) if (sc, s) in value]
        ys = [value[sc, s] for sc in scenarios if (sc, s) in value]
        bars = ax.bar(xs, ys, width, label=s)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(scenarios))], scenarios, rotation=20)
    ax.set_ylabel(f"speed relative to {reference} (higher is faster)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=min(4, len(series)))
    fig.tight_layout()
    fig.savefig(dst, dpi=100)
    print(f"chart_fallback: {dst} (matplotlib {matplotlib.__version__})")


if __name__ == "__main__":
    main(*sys.argv[1:3])
