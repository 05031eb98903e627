"""Check a generated sentence against the evidence and find what it should cite.

A sentence is supported when every number and name in it appears in the
evidence sentence it matches best (or in the question it answers), when most
of its content words come from that sentence, and when it keeps the
attribution ("police said") the evidence carries. Citations come from this
match, never from markers the model wrote.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .evidence import has_attribution
from .text import _WORD, content_terms, numbers_in

__all__ = ["Support", "check_support", "strip_markers"]

_MARKER = re.compile(r"\s*\[\s*\d+(?:\s*,\s*\d+)*\s*\]")


def strip_markers(text: str) -> str:
    """Remove citation markers the model may have written itself."""
    return _MARKER.sub("", text).strip()


@dataclass(frozen=True)
class Support:
    supported: bool
    sources: tuple[int, ...]  # indexes into the evidence list, best first
    overlap: float
    reason: str = ""


def _names(text: str) -> set[str]:
    words = _WORD.findall(text)
    out = set()
    for i, w in enumerate(words):
        if i > 0 and w[:1].isupper():
            out.update(content_terms(w))
    return out


def check_support(
    sentence: str, evidence: Sequence[str], question: str = "", *, min_overlap: float = 0.7
) -> Support:
    """Is ``sentence`` backed by one (or two) of the ``evidence`` sentences?"""
    claim = strip_markers(sentence)
    claim_terms = set(content_terms(claim))
    if not claim_terms:
        return Support(False, (), 0.0, "no content")
    q_terms = set(content_terms(question))
    scored = []
    for i, ev in enumerate(evidence):
        ev_terms = set(content_terms(ev))
        scored.append((len(claim_terms & ev_terms) / len(claim_terms), i, ev_terms))
    scored.sort(key=lambda t: -t[0])
    if not scored:
        return Support(False, (), 0.0, "no evidence")
    best_overlap, best_i, best_terms = scored[0]
    sources = [best_i]
    pool = set(best_terms)
    # A sentence may combine two evidence sentences; take the second if it adds coverage.
    if len(scored) > 1:
        _, i2, t2 = scored[1]
        if len((claim_terms - best_terms) & t2) >= 1:
            sources.append(i2)
            pool |= t2
    allowed = pool | q_terms
    overlap = len(claim_terms & allowed) / len(claim_terms)
    evidence_text = " ".join(evidence[i] for i in sources)
    missing_numbers = numbers_in(claim) - numbers_in(evidence_text) - numbers_in(question)
    if missing_numbers:
        return Support(False, tuple(sources), overlap, f"numbers not in evidence: {sorted(missing_numbers)}")
    missing_names = _names(claim) - allowed
    if missing_names:
        return Support(False, tuple(sources), overlap, f"names not in evidence: {sorted(missing_names)}")
    if question and not (claim_terms - q_terms) & pool:
        return Support(False, tuple(sources), overlap, "restates the question without answering it")
    if overlap < min_overlap:
        return Support(False, tuple(sources), overlap, f"only {overlap:.0%} of its words are in the evidence")
    if has_attribution(evidence[best_i]) and not has_attribution(claim):
        return Support(False, tuple(sources), overlap, "drops the evidence's attribution")
    return Support(True, tuple(sources), overlap)
