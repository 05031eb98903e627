"""Render an evaluation result as one self-contained HTML page.

The page is where a person looks to see why questions failed: the metrics, a
latency histogram (inline SVG), and every failed question with its answer,
citations and retrieved passages, each failure labelled with its likely cause.
It has no scripts and loads nothing from the network; every piece of article
or answer text is escaped.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Sequence

from .curve import svg_curve
from .metrics import retrieved_within

__all__ = ["render_report", "failure_cause", "histogram"]

_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; padding: 0 16px; }
h1 { font-size: 1.5em; margin-bottom: 4px; } h2 { font-size: 1.2em; margin-top: 28px; }
.sub { color: #666; }
table { border-collapse: collapse; margin: 8px 0; }
td, th { padding: 3px 10px; border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
details.q { border: 1px solid #ddd; border-radius: 6px; margin: 8px 0; padding: 6px 10px; }
details.q summary { cursor: pointer; }
.cause { display: inline-block; font-size: .8em; padding: 1px 6px; border-radius: 4px; background: #fde2e1; color: #8a1c1c; margin-right: 6px; }
.ok { color: #1b7f3a; } .bad { color: #b42318; }
.passage { white-space: pre-wrap; background: #f7f7f9; padding: 6px 8px; margin: 4px 0; border-left: 3px solid #ccc; }
.passage.hit { border-left-color: #1b7f3a; }
.label { color: #555; font-size: .9em; }
svg text { font-size: 11px; fill: #444; }
"""

CAUSES = {
    "not_retrieved": "evidence not retrieved",
    "false_abstention": "abstained, answer was retrievable",
    "abstained_not_retrieved": "abstained, evidence not retrieved",
    "wrong_answer": "wrong answer",
    "answered_unanswerable": "answered an unanswerable question",
}


def failure_cause(row: dict, k: int) -> str | None:
    """Why a scored row failed (a key of ``CAUSES``), or None when it did not fail."""
    hit = retrieved_within(row, k)
    answerable = row["gold"]["answerable"]
    if row["answer"] is None:  # retrieval-only
        return None if hit or not answerable else "not_retrieved"
    if row["correct"]:
        return None
    if not answerable:
        return "answered_unanswerable"
    if row["abstained"]:
        return "false_abstention" if hit else "abstained_not_retrieved"
    return "wrong_answer"


def histogram(values: Sequence[float], bins: int = 12) -> list[tuple[float, float, int]]:
    """(low, high, count) for equal-width bins over ``values``; [] for no values."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi <= lo:
        return [(lo, hi, len(values))]
    width = (hi - lo) / bins
    counts = Counter(min(bins - 1, int((v - lo) / width)) for v in values)
    return [(lo + i * width, lo + (i + 1) * width, counts.get(i, 0)) for i in range(bins)]


def _svg_histogram(values: Sequence[float], title: str) -> str:
    bars = histogram(values)
    if not bars:
        return "<p class='sub'>No timings.</p>"
    w, h, pad = 640, 180, 30
    top = max(c for _, _, c in bars)
    bw = (w - 2 * pad) / len(bars)
    parts = [f'<svg width="{w}" height="{h + 40}" role="img" aria-label="{html.escape(title)}">']
    for i, (lo, hi, c) in enumerate(bars):
        bh = 0 if not top else (h - pad) * c / top
        x, y = pad + i * bw, h - bh
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" fill="#6b8afd">'
            f"<title>{lo:.2f}–{hi:.2f} s: {c}</title></rect>"
        )
        if c:
            parts.append(f'<text x="{x + bw / 2 - 4:.1f}" y="{y - 3:.1f}">{c}</text>')
    step = max(1, math.ceil(len(bars) / 6))
    for i in range(0, len(bars) + 1, step):
        x = pad + i * bw
        edge = bars[min(i, len(bars) - 1)][0] if i < len(bars) else bars[-1][1]
        parts.append(f'<text x="{x - 8:.1f}" y="{h + 16}">{edge:.2f}</text>')
    parts.append(f'<text x="{w / 2 - 60:.1f}" y="{h + 34}">{html.escape(title)}</text></svg>')
    return "".join(parts)


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def _kv_table(items: dict) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{_fmt(v)}</td></tr>" for k, v in items.items())
    return f"<table>{rows}</table>"


def _metrics_table(metrics: dict) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td class='num'>{_fmt(v)}</td></tr>" for name, v in metrics.items()
    )
    return f"<table id='metrics'>{rows}</table>"


def _failed_block(row: dict, cause: str, k: int) -> str:
    e = html.escape
    gold = row["gold"]
    golds = ", ".join(e(a) for a in gold["answers"]) or "<i>none: unanswerable</i>"
    parts = [
        f"<details class='q'><summary><span class='cause'>{e(CAUSES[cause])}</span>"
        f"<b>{e(row['id'])}</b>: {e(row['question'])}</summary>"
    ]
    if gold.get("history"):
        turns = "".join(f"<div><span class='label'>{e(t['role'])}:</span> {e(t['content'])}</div>" for t in gold["history"])
        parts.append(f"<div class='label'>Conversation before:</div>{turns}")
    parts.append(f"<div><span class='label'>Gold:</span> {golds}</div>")
    if row["answer"] is not None:
        flag = " (abstained)" if row["abstained"] else ""
        parts.append(f"<div><span class='label'>Answer{flag}:</span> {e(row['answer'])}</div>")
        for c, ok in zip(row["citations"], row.get("citations_ok", [])):
            mark = "<span class='ok'>✓</span>" if ok else "<span class='bad'>✗</span>"
            parts.append(f"<div>{mark} [{c.get('n', '?')}] {e(c.get('title') or c.get('doc_id', ''))}: {e(c.get('quote') or c['text'])}</div>")
    rank = row.get("hit_rank")
    where = f"first hit at rank {rank}" if rank else f"no hit in the top {len(row['retrieved'])}"
    parts.append(f"<div class='label'>Retrieved passages ({where}):</div>")
    for i, p in enumerate(row["retrieved"], start=1):
        cls = "passage hit" if rank == i else "passage"
        parts.append(
            f"<div class='{cls}'><span class='label'>#{i} · {e(p['doc_id'])} · score {p['score']:.3f}</span>\n{e(p['text'])}</div>"
        )
    parts.append("</details>")
    return "".join(parts)


def render_report(result: dict) -> str:
    """The HTML page for ``result``: the JSON that ``rag eval --json`` writes."""
    e = html.escape
    metrics, rows, settings = result["metrics"], result["rows"], result.get("settings", {})
    k = int(settings.get("k", 5))
    failed = [(r, c) for r in rows if (c := failure_cause(r, k))]
    causes = Counter(c for _, c in failed)
    retrieval_only = bool(rows) and all(r["answer"] is None for r in rows)
    timing = "retrieval" if retrieval_only else "total"
    title = f"rag eval: {settings.get('gold', '')}"
    note = " Interrupted: figures cover the questions done." if result.get("interrupted") else ""
    body = [
        f"<h1>{e(title)}</h1>",
        f"<div class='sub'>{e(result.get('date', ''))} · mode {e(str(settings.get('mode')))} · k={k} · "
        f"model {e(str(settings.get('model')))} · {len(rows)} questions, {len(failed)} failed.{e(note)}</div>",
        "<h2>Metrics</h2>",
        _metrics_table(metrics),
        *(
            []
            if retrieval_only
            else ["<h2>Risk and coverage</h2>", "<p class='sub'>Answering the most confident questions first: "
                  "the accuracy of those answered and the truthfulness over all, as the threshold moves.</p>", svg_curve(rows)]
        ),
        f"<h2>Latency ({timing} time per question)</h2>",
        _svg_histogram([r["timings"].get(timing, 0.0) for r in rows], f"{timing} time (s)"),
        "<h2>Failed questions</h2>",
    ]
    if causes:
        body.append(_kv_table({CAUSES[c]: n for c, n in causes.most_common()}))
    body.extend(_failed_block(r, c, k) for r, c in failed)
    if not failed:
        body.append("<p>None.</p>")
    body += ["<h2>Settings</h2>", _kv_table(settings)]
    if result.get("machine"):
        body += ["<h2>Machine</h2>", _kv_table(result["machine"])]
    if result.get("versions"):
        body += ["<h2>Versions</h2>", _kv_table(result["versions"])]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )
