"""Dense search latency against corpus size, exact and HNSW, as a table and an SVG plot.

    python benchmarks/scale.py [--sizes 25000 50000 100000 200000 400000] [--svg docs/retrieval-scale.svg]

For each size it runs `bench.approximate_index` (benchmarks/bench/search.py:
synthetic embedding-like 384-d vectors, 200 single queries, p95 of exact `IndexFlatIP` and of the HNSW
graph the index switches to from `APPROXIMATE_FROM` chunks) and plots both on
log-log axes, with the switch point marked. No plotting library needed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

W, H, PAD = 640, 400, 60


def plot(rows: list[dict], switch: int, title: str) -> str:
    """An SVG line plot of exact and HNSW p95 (ms) against chunks, both axes logarithmic."""
    xs = [r["chunks"] for r in rows]
    ys = [v for r in rows for v in (r["exact_ms"], r["hnsw_ms"])]
    x0, x1 = math.log10(min(xs) / 1.5), math.log10(max(xs) * 1.5)
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))

    def px(x: float) -> float:
        return PAD + (math.log10(x) - x0) / (x1 - x0) * (W - 2 * PAD)

    def py(y: float) -> float:
        return H - PAD - (math.log10(y) - y0) / (y1 - y0) * (H - 2 * PAD)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{W / 2}" y="24" text-anchor="middle" font-size="14">{title}</text>',
    ]
    for e in range(y0, y1 + 1):
        y = py(10**e)
        out.append(f'<line x1="{PAD}" x2="{W - PAD}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{PAD - 6}" y="{y + 4:.1f}" text-anchor="end">{10**e:g} ms</text>')
    for x in xs:
        out.append(f'<text x="{px(x):.1f}" y="{H - PAD + 18}" text-anchor="middle">{x // 1000}k</text>')
    out.append(f'<text x="{W / 2}" y="{H - 16}" text-anchor="middle">chunks (log scale)</text>')
    sx = px(switch)
    out.append(f'<line x1="{sx:.1f}" x2="{sx:.1f}" y1="{PAD}" y2="{H - PAD}" stroke="#999" stroke-dasharray="4 4"/>')
    out.append(f'<text x="{sx + 4:.1f}" y="{H - PAD - 6}" fill="#666">HNSW used from here</text>')
    for key, colour, label in (("exact_ms", "#c0392b", "exact (IndexFlatIP)"), ("hnsw_ms", "#2471a3", "HNSW")):
        points = " ".join(f"{px(r['chunks']):.1f},{py(r[key]):.1f}" for r in rows)
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r in rows:
            out.append(f'<circle cx="{px(r["chunks"]):.1f}" cy="{py(r[key]):.1f}" r="3" fill="{colour}"/>')
        first = rows[0]
        out.append(f'<text x="{px(first["chunks"]):.1f}" y="{py(first[key]) - 10:.1f}" fill="{colour}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000, 200_000, 400_000])
    ap.add_argument("--svg", type=Path, default=ROOT / "docs" / "retrieval-scale.svg")
    ap.add_argument("--json", dest="json_file", type=Path)
    args = ap.parse_args()

    from bench import approximate_index  # benchmarks/bench: this script's folder is on sys.path

    from rag import compute
    from rag.config import available_cores
    from rag.runinfo import machine_info
    from rag.store.vectors import APPROXIMATE_FROM

    rows = []
    for n in args.sizes:
        f = compute.run(approximate_index, n, 384)
        recall = float(f.note.split("recall@10 ")[1].split()[0])
        rows.append({"chunks": n, "exact_ms": f.baseline, "hnsw_ms": f.value, "hnsw_recall@10": recall})
        print(f"{n:>9} chunks  exact p95 {f.baseline:7.2f} ms  HNSW p95 {f.value:5.2f} ms  recall@10 {recall:.3f}",
              flush=True)
    machine = machine_info()
    title = f"Dense search p95, one query, {available_cores()} threads ({machine['cpu']})"
    args.svg.write_text(plot(rows, APPROXIMATE_FROM, title), encoding="utf-8")
    print(f"wrote {args.svg}")
    if args.json_file:
        args.json_file.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
