"""The two `make tco` charts (matplotlib, Agg backend: no display needed), each as PNG and SVG.

1. cost_vs_utilisation: monthly cost of the token volume one on-prem server (the `onPrem.compare` preset)
   produces at utilisation u, for the cloud (this stack on-demand, at its spot mix, tiered, and the same
   hardware on-demand; ideal autoscaling, fixed costs left out) against the on-prem server's flat monthly cost.
   Where a cloud line crosses the on-prem line is the break-even utilisation.
2. per_million_by_model: $ per 1M output tokens at full utilisation, on-demand, per catalog model and GPU type
   (hatched bars: roofline estimates; solid: published measurements).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after selecting the backend

LINES = (
    ("cloudOnDemand", "cloud, this stack, on-demand", "-"),
    ("cloudSpotMix", "cloud, this stack, spot mix", "-"),
    ("tiered", "cloud, tiered routing", "--"),
    ("sameHardwareOnDemand", "cloud, same 8-GPU type on-demand", ":"),
)


def _save(fig, out: Path, stem: str) -> list[Path]:
    paths = []
    for ext in ("png", "svg"):
        path = out / f"{stem}.{ext}"
        # A fixed date keeps the SVG byte-stable between runs (matplotlib stamps it otherwise).
        fig.savefig(path, dpi=120, metadata={"Date": None} if ext == "svg" else None)
        paths.append(path)
    plt.close(fig)
    return paths


def cost_vs_utilisation(doc: dict[str, Any], out: Path) -> list[Path]:
    sens = doc["sensitivity"]
    rows = sens["rows"]
    x = [100 * r["utilisation"] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 5))
    for key, label, style in LINES:
        if key in rows[0]:
            ax.plot(x, [r[key] for r in rows], style, label=label)
    preset = next(p for p in doc["onPrem"] if p["preset"] == sens["preset"])
    ax.plot(x, [r["onPrem"] for r in rows], "k-", linewidth=2.5, label=f"on-prem {preset['preset']} (1 server)")
    ax.set_xlabel(
        f"utilisation of one {preset['preset']} server (% of {sens['serverOutputTokensPerSecond']:,.0f} output tok/s)"
    )
    ax.set_ylabel("USD per month for that token volume")
    ax.set_title(f"{doc['model']}: cloud vs on-prem ({doc['stack']} stack, prices {doc['pricesCapturedOn']})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out, "cost_vs_utilisation")


def per_million_by_model(doc: dict[str, Any], out: Path) -> list[Path]:
    rows = sorted(doc["modelGpuTable"], key=lambda r: (r["model"], r["perMillionOutputTokens"]))
    labels = [f"{r['model'].removeprefix('deepseek-')} · {r['instanceType']} ({r['gpu']})" for r in rows]
    fig, ax = plt.subplots(figsize=(9, max(4, 0.22 * len(rows))))
    bars = ax.barh(range(len(rows)), [r["perMillionOutputTokens"] for r in rows])
    for bar, r in zip(bars, rows, strict=True):
        if r["kind"] == "estimated":
            bar.set_hatch("//")
            bar.set_alpha(0.6)
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel(
        "USD per 1M output tokens, on-demand, full utilisation\n"
        "(log scale; hatched = roofline estimate, solid = measured)"
    )
    ax.set_title(f"$ per 1M output tokens by model and GPU type ({doc['region']}, {doc['pricesCapturedOn']})")
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return _save(fig, out, "per_million_by_model")


def charts_for(doc: dict[str, Any]) -> list[str]:
    """The charts `write` draws for a report: the utilisation curve only where an on-prem server fits the model."""
    return [
        stem
        for stem, key in (("cost_vs_utilisation", "sensitivity"), ("per_million_by_model", "modelGpuTable"))
        if doc.get(key)
    ]


def write(doc: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    draw = {"cost_vs_utilisation": cost_vs_utilisation, "per_million_by_model": per_million_by_model}
    paths: list[Path] = []
    for stem in charts_for(doc):
        paths += draw[stem](doc, out)
    return paths
