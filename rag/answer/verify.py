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
from functools import lru_cache

from ..text import _fold, _stem
from . import nlp

__all__ = ["Support", "check_support", "strip_markers", "MIN_FRAGMENT_COVERAGE", "MAX_NEW_LINKS"]

_MARKER = re.compile(r"\s*\[\s*\d+(?:\s*,\s*\d+)*\s*\]")
MIN_FRAGMENT_COVERAGE = 0.6
MAX_NEW_LINKS = 0
LINK_REACH = 1  # how many links apart two evidence words may be for the claim to link them

# Closed classes of English grammar, not topic words.
_NEGATIONS = {"not", "n't", "never", "no", "none", "nobody", "nothing", "neither", "nor", "without", "cannot"}
_HEDGES = {
    "reportedly", "allegedly", "apparently", "purportedly", "supposedly", "possibly", "probably", "likely",
    "may", "might", "could", "alleged", "suspected", "believed", "presumably", "unconfirmed", "believe",
}
_REPORTING = {
    "say", "tell", "state", "report", "claim", "add", "announce", "accord", "note", "explain", "write",
    "confirm", "cite", "quote", "describe", "call", "dub", "label", "term", "insist", "argue",
}
_BOUND_WORDS = {
    "more", "over", "least", "above", "exceed", "upwards", "plus", "greater", "fewer", "less", "under", "most",
    "below", "nearly", "almost", "up", "than", "at", "to", "no", "not", "about", "around", "roughly",
    "approximately", "some", "only", "just",
}
_LOWER = {"more", "over", "least", "above", "exceed", "upwards", "plus", "greater"}
_UPPER = {"fewer", "less", "under", "most", "below", "nearly", "almost", "up"}
_ABOUT = {"about", "around", "roughly", "approximately", "some"}
_CONNECTIVES = {
    "because": {"cause"}, "due": {"cause"}, "so": {"cause"}, "therefore": {"cause"}, "thus": {"cause"},
    "since": {"cause", "after"}, "after": {"after"}, "following": {"after"}, "then": {"after"},
    "before": {"before"}, "until": {"before"}, "prior": {"before"}, "ahead": {"before"},
}
_FUNCTION_LEMMAS = {"be", "have", "do", "get"}
_CONTENT_TAGS = ("NN", "VB", "JJ", "RB", "CD")


def strip_markers(text: str) -> str:
    """Remove citation markers the model may have written itself."""
    return _MARKER.sub("", text).strip()


@dataclass(frozen=True)
class Support:
    supported: bool
    sources: tuple[int, ...]  # indexes into the evidence list, best first
    overlap: float  # share of the claim's content words found in the evidence
    reason: str = ""


@dataclass(frozen=True)
class _Word:
    norm: str  # what is compared: a stem, or a number as digits
    lower: str
    lemma: str
    i: int  # token index in the parse
    content: bool


@dataclass(frozen=True)
class _Reading:
    parse: nlp.Parse
    words: tuple[_Word, ...]

    @property
    def norms(self) -> set[str]:
        return {w.norm for w in self.words}


def digits(text: str) -> str:
    """Number words as digits ("two of whom" -> "2 of whom", "nine and a half" -> "9.5")."""
    from number_parser import parse as to_digits

    text = re.sub(r"\b(an?|one) dozen\b", "12", text, flags=re.I)
    out = to_digits(text)
    return re.sub(r"\b(\d+) and a half\b", lambda m: f"{m.group(1)}.5", out)


@lru_cache(maxsize=8192)
def _read(text: str) -> _Reading:
    parse = nlp.parse(digits(text))
    words = []
    for i, t in enumerate(parse.tokens):
        low = _fold(t.text)
        if not re.search(r"\w", low):
            continue
        if re.fullmatch(r"\d[\d,]*(\.\d+)?", low):
            norm = low.replace(",", "")
        elif low in _NEGATIONS:
            norm = "<not>"  # "no confirmation" and "not confirmed" deny alike
        elif (t.lemma in _REPORTING and t.tag.startswith("VB")) or low == "according":
            norm = "<say>"  # "said", "stated", "according to" report alike
        else:
            norm = _stem(low.strip("'"))
        content = (
            low in _NEGATIONS
            or norm.isdigit()
            or (t.tag.startswith(_CONTENT_TAGS) and t.dep not in ("aux", "auxpass") and t.lemma not in _FUNCTION_LEMMAS)
        )
        words.append(_Word(norm, low, t.lemma, i, content))
    return _Reading(parse, tuple(words))


def _fragment_coverage(claim: _Reading, source: _Reading) -> float:
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


def _bound_words(r: _Reading) -> set[int]:
    """Positions (in words) of the words that bound a number ("no fewer than 12")."""
    out = set()
    for k, w in enumerate(r.words):
        if w.norm.replace(".", "").isdigit():
            j = k - 1
            while j >= 0 and r.words[j].lower in _BOUND_WORDS and k - j <= 4:
                out.add(j)
                j -= 1
    return out


def _bounds(r: _Reading) -> dict[str, str]:
    """Each number's bound: "lower" ("more than 12"), "upper", "about" or "exact"."""
    out: dict[str, str] = {}
    for k, w in enumerate(r.words):
        if not w.norm.replace(".", "").isdigit():
            continue
        before = [x.lower for x in r.words[max(0, k - 4) : k]]
        kind = "exact"
        for j, x in enumerate(before):
            flip = j > 0 and before[j - 1] in ("no", "not")
            if x in _LOWER:
                kind = "upper" if flip else "lower"
            elif x in _UPPER:
                kind = "lower" if flip else "upper"
            elif x in _ABOUT:
                kind = "about"
        out.setdefault(w.norm, kind)
    return out


def _unlicensed(claim: _Reading, source: _Reading) -> list[str]:
    present = source.norms
    lemmas = {w.lemma for w in source.words}
    reports = bool(lemmas & _REPORTING)
    bounded = _bound_words(claim)
    out = []
    for k, w in enumerate(claim.words):
        if not w.content or w.norm in present or k in bounded or w.norm == "<not>":
            continue  # a negation is judged by its polarity, below
        if reports and w.lemma in _REPORTING:
            continue
        out.append(w.lower)
    return out


def _linkable(r: _Reading) -> dict[int, _Word]:
    """Content words by token index, without the words that only bound a number."""
    bounded = _bound_words(r)
    return {w.i: w for k, w in enumerate(r.words) if w.content and k not in bounded}


def _content_heads(r: _Reading) -> dict[int, int]:
    """Each content word's nearest content ancestor, read through function words."""
    words = _linkable(r)
    out = {}
    for i in words:
        h, seen = r.parse.tokens[i].head, {i}
        while h not in seen and h not in words:
            seen.add(h)
            h = r.parse.tokens[h].head
        if h in words and h != i:
            out[i] = h
    # A verb joined to another ("stopped … and is renegotiating") shares its subject.
    for i, t in enumerate(r.parse.tokens):
        if t.dep == "conj" and i in words and t.head in words:
            for j, u in enumerate(r.parse.tokens):
                if u.head == t.head and u.dep in ("nsubj", "nsubjpass") and j in words:
                    out.setdefault(j, i)
    return out


def _links(r: _Reading) -> set[tuple[str, str]]:
    """Dependency links between content words, unordered."""
    words = _linkable(r)
    return {tuple(sorted((words[a].norm, words[b].norm))) for a, b in _content_heads(r).items() if words[a].norm != words[b].norm}


def _near_links(r: _Reading) -> set[tuple[str, str]]:
    """Pairs of content words at most two links apart, or next to each other: what a faithful
    rewording may link (parsers attach a moved phrase to a neighbouring word)."""
    words = _linkable(r)
    heads = _content_heads(r)
    adjacent: dict[int, set[int]] = {i: set() for i in words}
    for a, b in heads.items():
        adjacent[a].add(b)
        adjacent[b].add(a)
    out = set()
    for a in words:
        reach = set(adjacent[a])
        for _ in range(LINK_REACH - 1):
            for b in list(reach):
                reach |= adjacent[b]
        out.update(tuple(sorted((words[a].norm, words[b].norm))) for b in reach if words[b].norm != words[a].norm)
    # Neighbours, reading past adverbs ("Lukashenko, meanwhile, addressed").
    order = [i for i in sorted(words) if not r.parse.tokens[i].tag.startswith("RB")]
    out.update(tuple(sorted((words[a].norm, words[b].norm))) for a, b in zip(order, order[1:]) if words[a].norm != words[b].norm)
    return out


def _roles(r: _Reading) -> dict[str, tuple[set[str], set[str]]]:
    """verb stem -> (its subject side, its objects and prepositional objects), a passive read
    as its active ("20 were arrested by police": police arrest 20)."""
    words = _linkable(r)
    out: dict[str, tuple[set[str], set[str]]] = {}
    for i, t in enumerate(r.parse.tokens):
        if t.dep not in ("nsubj", "nsubjpass", "dobj", "pobj"):
            continue
        arg = words[i].norm if i in words else (_fold(t.text) if t.tag in ("PRP", "PRP$") else None)
        if arg is None:
            continue
        verb_i, subject = t.head, t.dep == "nsubj"
        if t.dep == "pobj":
            prep = r.parse.tokens[t.head]
            verb_i, subject = prep.head, prep.dep == "agent"
        verb = words.get(verb_i)
        if verb is None or not r.parse.tokens[verb_i].tag.startswith("VB") or verb.norm == "<say>":
            continue
        subj, obj = out.setdefault(verb.norm, (set(), set()))
        (subj if subject else obj).add(arg)
    return out


def _roles_ok(claim: _Reading, source: _Reading) -> bool:
    """No verb's subject in the claim is its object in the evidence, nor the other way round."""
    theirs = _roles(source)
    for verb, (c_subj, c_obj) in _roles(claim).items():
        if verb not in theirs:
            continue
        e_subj, e_obj = theirs[verb]
        if (c_subj - e_subj) & e_obj or (c_obj - e_obj) & e_subj:
            return False
    return True


def _negated(r: _Reading) -> set[str]:
    """Stems of the words a negation attaches to ("not arrested" -> "arrest")."""
    by_index = {w.i: w for w in r.words}
    bounded = {r.words[k].i for k in _bound_words(r)}
    out = set()
    for i, t in enumerate(r.parse.tokens):
        if _fold(t.text) not in _NEGATIONS or i in bounded:
            continue
        target = by_index.get(t.head)
        if target is None or target.norm == "<not>" or target.i == i:
            target = next((w for w in r.words if w.i > i and w.content and w.norm != "<not>"), None)
        if target is not None:
            out.add(target.norm)
    return out


def _polarity_ok(claim: _Reading, source: _Reading) -> bool:
    c_neg, e_neg = _negated(claim), _negated(source)
    kept = claim.norms
    return c_neg <= e_neg and not {n for n in e_neg if n in kept} - c_neg


def _hedged(r: _Reading) -> bool:
    return any(w.lower in _HEDGES or w.lemma in _HEDGES or w.norm == "<say>" for w in r.words)


def _subtree(r: _Reading, root: int) -> set[int]:
    keep = {root}
    changed = True
    while changed:
        changed = False
        for j, t in enumerate(r.parse.tokens):
            if j not in keep and t.head in keep and t.head != j:
                keep.add(j)
                changed = True
    return keep


def _sources(r: _Reading) -> set[str]:
    """Stems of who a reporting verb attributes the statement to ("police said", "according to X")."""
    by_index = {w.i: w for w in r.words}
    out = set()
    for i, t in enumerate(r.parse.tokens):
        if t.dep == "nsubj" and by_index.get(t.head) is not None and by_index[t.head].norm == "<say>" and _fold(t.text) not in ("he", "she", "they", "it", "i", "we"):
            out.update(by_index[j].norm for j in _subtree(r, i) if j in by_index and by_index[j].content)
        elif _fold(t.text) == "according":
            out.update(by_index[j].norm for j in _subtree(r, i) if j in by_index and by_index[j].content and j != i)
    return out


def _connective_sides(r: _Reading) -> list[tuple[set[str], set[str], set[str]]]:
    """(classes, the side a connective introduces, the rest) for each connective."""
    by_index = {w.i: w for w in r.words}
    content = {w.i for w in r.words if w.content}
    out = []
    for i, t in enumerate(r.parse.tokens):
        classes = _CONNECTIVES.get(_fold(t.text))
        if not classes:
            continue
        side = _subtree(r, t.head) if t.dep == "mark" else _subtree(r, i)
        inner = {by_index[j].norm for j in side & content if j != i}
        outer = {by_index[j].norm for j in content - side if j != i}
        out.append((classes, inner, outer))
    return out


def _connectives_ok(claim: _Reading, source: _Reading) -> bool:
    theirs = _connective_sides(source)
    for classes, inner, outer in _connective_sides(claim):
        same = [(i2, o2) for c2, i2, o2 in theirs if c2 & classes]
        if not same:
            return False
        if not any(len(inner & o2) <= len(inner & i2) and len(outer & i2) <= len(outer & o2) for i2, o2 in same):
            return False
    return True


def _best_sources(claim: _Reading, evidence: list[_Reading]) -> list[int]:
    """Evidence sentences by how much of the claim they hold, best first (at most two)."""
    norms = {w.norm for w in claim.words if w.content}
    scored = sorted(range(len(evidence)), key=lambda i: -len(norms & evidence[i].norms))
    if not scored:
        return []
    picks = [scored[0]]
    if len(scored) > 1 and (norms - evidence[scored[0]].norms) & evidence[scored[1]].norms:
        picks.append(scored[1])
    return picks


def _joined(readings: list[_Reading]) -> _Reading:
    if len(readings) == 1:
        return readings[0]
    return _read(" ".join(" ".join(t.text for t in r.parse.tokens) for r in readings))


def check_support(sentence: str, evidence: Sequence[str], question: str = "", *, strict: bool = False) -> Support:
    """Is ``sentence`` backed by one (or, unless ``strict``, two) of the ``evidence`` sentences?

    ``question`` is what the sentence answers: a sentence that only restates it is not an answer.
    """
    text = strip_markers(sentence)
    if not text or not re.search(r"\w", text):
        return Support(False, (), 0.0, "no content")
    if not evidence:
        return Support(False, (), 0.0, "no evidence")
    claim = _read(text)
    content = [w for w in claim.words if w.content]
    if not content:
        return Support(False, (), 0.0, "no content")
    read = [_read(e) for e in evidence]
    picks = _best_sources(claim, read)[: 1 if strict else 2]
    source = _joined([read[i] for i in picks])
    found = sum(w.norm in source.norms for w in content) / len(content)

    def fail(reason: str) -> Support:
        return Support(False, tuple(picks), found, reason)

    missing = _unlicensed(claim, source)
    if missing:
        return fail(f"words not in the evidence: {', '.join(dict.fromkeys(missing))}")
    if question:
        asked = {w.norm for w in _read(question).words if w.content}
        if all(w.norm in asked for w in content):
            return fail("restates the question without answering it")
    if not all(_polarity_ok(claim, read[i]) for i in picks if read[i].norms & claim.norms):
        return fail("changes a negation")
    if _hedged(source) and not _hedged(claim):
        return fail("drops the evidence's hedge or attribution")
    coverage = _fragment_coverage(claim, source)
    if coverage < MIN_FRAGMENT_COVERAGE:
        return fail(f"only {coverage:.0%} of it is copied in order from the evidence")
    new_links = _links(claim) - set().union(*(_near_links(read[i]) for i in picks))
    if len(new_links) > MAX_NEW_LINKS:
        pairs = ", ".join("–".join(p) for p in sorted(new_links)[:3])
        return fail(f"links words the evidence does not link ({pairs})")
    if not all(_roles_ok(claim, read[i]) for i in picks):
        return fail("changes who did what to whom")
    named_c, named_e = _sources(claim), set().union(*(_sources(read[i]) for i in picks))
    if named_c and not named_c <= (named_e | source.norms):
        return fail("attributes it to another source")
    if named_e and named_c and not named_c & named_e:
        return fail("attributes it to another source")
    c_bounds, e_bounds = _bounds(claim), _bounds(source)
    if any(n in e_bounds and b != e_bounds[n] for n, b in c_bounds.items()):
        return fail("changes a quantity's bound")
    if not _connectives_ok(claim, source):
        return fail("changes a cause or the order of events")
    return Support(True, tuple(picks), found)
