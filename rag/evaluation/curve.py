"""The risk–coverage curve: how right the answers are as the abstention threshold moves.

Every question has the reader's confidence and an outcome had it been
answered (its answer, or for an abstention the answer it held back). Sorting
by confidence and answering the most confident first gives, for each share of
questions answered (coverage), the accuracy of those answered and the
truthfulness over all questions; the threshold in use is the point where the
assistant actually stopped answering.
"""

from __future__ import annotations

from collections.abc import Sequence

from .metrics import answer_correct

__all__ = ["risk_coverage", "svg_curve"]


def _would_be_right(row: dict) -> bool:
    gold = row["gold"]
    if not gold["answerable"]:
        return False
    text = row["answer"] if not row["abstained"] else (row.get("withheld") or "")
    return bool(text) and answer_correct(text, gold["answers"], True, False)


def risk_coverage(rows: Sequence[dict]) -> list[tuple[float, float, float, float]]:
    """(confidence, coverage, accuracy of the answered, truthfulness) at each cut, most confident first."""
    scored = [r for r in rows if r.get("confidence") is not None and r.get("answer") is not None]
    scored.sort(key=lambda r: -float(r["confidence"]))
    out, right = [], 0
    n = len(rows)
    for i, r in enumerate(scored, start=1):
        right += _would_be_right(r)
        out.append((float(r["confidence"]), i / n, right / i, (2 * right - i) / n))
    return out


def svg_curve(rows: Sequence[dict]) -> str:
    points = risk_coverage(rows)
    if not points:
        return "<p class='sub'>No confidences recorded.</p>"
    answered = sum(1 for r in rows if r.get("answer") is not None and not r["abstained"]) / max(1, len(rows))
    w, h, pad = 640, 260, 40

    def xy(cov: float, val: float) -> tuple[float, float]:
        # values run from -1 (bottom) to 1 (top)
        return pad + cov * (w - 2 * pad), h - pad - (val + 1) / 2 * (h - 2 * pad)

    def line(index: int, colour: str) -> str:
        pts = " ".join(f"{xy(p[1], p[index])[0]:.1f},{xy(p[1], p[index])[1]:.1f}" for p in points)
        return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}"/>'

    parts = [f'<svg width="{w}" height="{h + 30}" role="img" aria-label="risk-coverage curve">']
    for val in (-1.0, -0.5, 0.0, 0.5, 1.0):
        _, y = xy(0, val)
        parts.append(f'<line x1="{pad}" x2="{w - pad}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="4" y="{y + 4:.1f}">{val:+.1f}</text>')
    for cov in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, _ = xy(cov, 0)
        parts.append(f'<text x="{x - 10:.1f}" y="{h - pad + 16}">{cov:.0%}</text>')
    parts.append(line(2, "#1b7f3a"))
    parts.append(line(3, "#6b8afd"))
    x, _ = xy(answered, 0)
    parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{pad / 2}" y2="{h - pad}" stroke="#b42318" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{x + 4:.1f}" y="{pad / 2 + 10}">threshold in use: {answered:.0%} answered</text>')
    parts.append(f'<text x="{pad}" y="{h + 20}">coverage (share answered) → </text>')
    parts.append('<text x="330" y="14" fill="#1b7f3a">accuracy of answered</text>')
    parts.append('<text x="480" y="14" fill="#6b8afd">truthfulness</text>')
    parts.append("</svg>")
    return "".join(parts)
