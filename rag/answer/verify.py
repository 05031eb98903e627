"""Verify: does a generated sentence say only what its evidence sentence says?

Bag-of-words overlap cannot tell "police arrested protesters" from
"protesters arrested police", so the claim is read with spaCy's tagger and
parser and compared with the evidence structurally. It is supported when:

1. **Its words come from the evidence.** Every content word (noun, verb,
   adjective, adverb, number; stemmed, numbers read as digits by
   number-parser so "two" = "2") is in the evidence, or is a reporting verb
   standing for one ("stated" for "said"). An antonym, an invented name, a
   wrong number or date fails here.
2. **It is copied in order.** The share of its content words covered by
   fragments of two or more words copied from the evidence (the fragment
   coverage of Grusky et al. 2018, aligned with rapidfuzz) reaches
   ``MIN_FRAGMENT_COVERAGE``.
3. **Its words are linked as in the evidence.** Each dependency link between
   two content words of the claim (read through function words, so the
   passive "20 were arrested by police" keeps "arrest–police") is a link, or
   a neighbour pair, of the evidence; at most ``MAX_NEW_LINKS`` are not.
   Swapped roles, merged clauses and word salad make new links.
4. **Polarity is kept.** A word negated in the evidence is negated in the
   claim, and a word the claim negates is negated in the evidence.
5. **Hedges and sources are kept.** If the evidence only reports a fact
   ("reportedly", "allegedly", "may", "police said", "according to"), so does
   the claim, naming the same source.
6. **Quantities keep their bounds.** "More than a dozen" stays a lower bound,
   "at most" an upper one ("no fewer than" is "at least").
7. **Connectives link the same sides.** What comes "after", "before" or
   "because of" something in the claim does so in the evidence too.

The thresholds were set on the first half of `tests/data/verifier_catalogue.jsonl`
and checked on the second (see the README). Citations come from this match,
never from markers the model wrote.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .claim import (
    REPORTING,
    Reading,
    bound_words,
    bounds,
    connective_sides,
    hedged,
    joined,
    links,
    near_links,
    negated,
    read,
    roles,
    sources,
)

__all__ = ["Support", "check_support", "strip_markers", "MIN_FRAGMENT_COVERAGE", "MAX_NEW_LINKS"]

_MARKER = re.compile(r"\s*\[\s*\d+(?:\s*,\s*\d+)*\s*\]")
MIN_FRAGMENT_COVERAGE = 0.6
MAX_NEW_LINKS = 0


def strip_markers(text: str) -> str:
    """Remove citation markers the model may have written itself."""
    return _MARKER.sub("", text).strip()


@dataclass(frozen=True)
class Support:
    supported: bool
    sources: tuple[int, ...]  # indexes into the evidence list, best first
    overlap: float  # share of the claim's content words found in the evidence
    reason: str = ""


def _fragment_coverage(claim: Reading, source: Reading) -> float:
    """Share of the claim's content words inside fragments of >= 2 words copied from the source,
    the in-order alignment first, then moved fragments (a clause put first)."""
    from rapidfuzz.distance import Indel

    # Over content words only, so "were shut" and "have been shut" copy alike.
    claim_words = [w for w in claim.words if w.content]
    a = [w.norm for w in claim_words]
    b = [w.norm for w in source.words if w.content]
    covered: set[int] = set()
    for m in Indel.opcodes(a, b).as_matching_blocks():
        if m.size >= 2:
            covered.update(range(m.a, m.a + m.size))
    i = 0
    while i < len(a):
        if i in covered:
            i += 1
            continue
        best = 0
        for j in range(len(b)):
            best = max(best, _run(a, b, i, j, covered))
        if best >= 2:
            covered.update(range(i, i + best))
            i += best
        else:
            i += 1
    return len(covered) / len(a) if a else 0.0


def _run(a: list[str], b: list[str], i: int, j: int, covered: set[int]) -> int:
    """Length of the copy of ``a[i:]`` found at ``b[j:]``, where the source may carry one extra
    content word inside it: "flights [into the country] have been halted" is still copied
    when the claim drops the modifier."""
    n, skipped = 0, False
    while i + n < len(a) and i + n not in covered and j < len(b):
        if a[i + n] == b[j]:
            n, j = n + 1, j + 1
        elif n and not skipped and j + 1 < len(b) and a[i + n] == b[j + 1]:
            skipped, j = True, j + 1
        else:
            break
    return n


def _unlicensed(claim: Reading, source: Reading) -> list[str]:
    present = source.norms
    lemmas = {w.lemma for w in source.words}
    reports = bool(lemmas & REPORTING)
    bounded = bound_words(claim)
    out = []
    for k, w in enumerate(claim.words):
        if not w.content or w.norm in present or k in bounded or w.norm == "<not>":
            continue  # a negation is judged by its polarity, below
        if reports and w.lemma in REPORTING:
            continue
        out.append(w.lower)
    return out


def _roles_ok(claim: Reading, source: Reading) -> bool:
    """No verb's subject in the claim is its object in the evidence, nor the other way round."""
    theirs = roles(source)
    for verb, (c_subj, c_obj) in roles(claim).items():
        if verb not in theirs:
            continue
        e_subj, e_obj = theirs[verb]
        if (c_subj - e_subj) & e_obj or (c_obj - e_obj) & e_subj:
            return False
    return True


def _polarity_ok(claim: Reading, source: Reading) -> bool:
    c_neg, e_neg = negated(claim), negated(source)
    kept = claim.norms
    return c_neg <= e_neg and not {n for n in e_neg if n in kept} - c_neg


def _connectives_ok(claim: Reading, source: Reading) -> bool:
    theirs = connective_sides(source)
    for classes, inner, outer in connective_sides(claim):
        same = [(i2, o2) for c2, i2, o2 in theirs if c2 & classes]
        if not same:
            return False
        if not any(len(inner & o2) <= len(inner & i2) and len(outer & i2) <= len(outer & o2) for i2, o2 in same):
            return False
    return True


def _best_sources(claim: Reading, evidence: list[Reading]) -> list[int]:
    """Evidence sentences by how much of the claim they hold, best first (at most two)."""
    norms = {w.norm for w in claim.words if w.content}
    scored = sorted(range(len(evidence)), key=lambda i: -len(norms & evidence[i].norms))
    if not scored:
        return []
    picks = [scored[0]]
    if len(scored) > 1 and (norms - evidence[scored[0]].norms) & evidence[scored[1]].norms:
        picks.append(scored[1])
    return picks


def check_support(sentence: str, evidence: Sequence[str], question: str = "", *, strict: bool = False) -> Support:
    """Is ``sentence`` backed by one (or, unless ``strict``, two) of the ``evidence`` sentences?

    ``question`` is what the sentence answers: a sentence that only restates it is not an answer.
    """
    text = strip_markers(sentence)
    if not text or not re.search(r"\w", text):
        return Support(False, (), 0.0, "no content")
    if not evidence:
        return Support(False, (), 0.0, "no evidence")
    claim = read(text)
    content = [w for w in claim.words if w.content]
    if not content:
        return Support(False, (), 0.0, "no content")
    readings = [read(e) for e in evidence]
    picks = _best_sources(claim, readings)[: 1 if strict else 2]
    source = joined([readings[i] for i in picks])
    found = sum(w.norm in source.norms for w in content) / len(content)

    def fail(reason: str) -> Support:
        return Support(False, tuple(picks), found, reason)

    missing = _unlicensed(claim, source)
    if missing:
        return fail(f"words not in the evidence: {', '.join(dict.fromkeys(missing))}")
    if question:
        asked = {w.norm for w in read(question).words if w.content}
        if all(w.norm in asked for w in content):
            return fail("restates the question without answering it")
    if not all(_polarity_ok(claim, readings[i]) for i in picks if readings[i].norms & claim.norms):
        return fail("changes a negation")
    if hedged(source) and not hedged(claim):
        return fail("drops the evidence's hedge or attribution")
    coverage = _fragment_coverage(claim, source)
    if coverage < MIN_FRAGMENT_COVERAGE:
        return fail(f"only {coverage:.0%} of it is copied in order from the evidence")
    new_links = links(claim) - set().union(*(near_links(readings[i]) for i in picks))
    if len(new_links) > MAX_NEW_LINKS:
        pairs = ", ".join("–".join(p) for p in sorted(new_links)[:3])
        return fail(f"links words the evidence does not link ({pairs})")
    if not all(_roles_ok(claim, readings[i]) for i in picks):
        return fail("changes who did what to whom")
    named_c, named_e = sources(claim), set().union(*(sources(readings[i]) for i in picks))
    if named_c and not named_c <= (named_e | source.norms):
        return fail("attributes it to another source")
    if named_e and named_c and not named_c & named_e:
        return fail("attributes it to another source")
    c_bounds, e_bounds = bounds(claim), bounds(source)
    if any(n in e_bounds and b != e_bounds[n] for n, b in c_bounds.items()):
        return fail("changes a quantity's bound")
    if not _connectives_ok(claim, source):
        return fail("changes a cause or the order of events")
    return Support(True, tuple(picks), found)
