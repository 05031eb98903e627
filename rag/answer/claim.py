"""How the verifier reads a sentence: its words normalised, and what its parse says.

A `Reading` holds a sentence's spaCy parse (`rag.answer.nlp`) and its words, each
normalised for comparison: a stem, a number as digits ("two" = "2", by
number-parser), and one token for all negations and all reporting verbs. The
functions here read structure off it: dependency links between content words,
who does what to whom, what is negated, hedges and named sources, the bounds of
quantities, and the sides of connectives. `rag.answer.verify` compares these
between a claim and its evidence; the word classes below are closed classes of
English grammar, not topic words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..text import _fold, _stem
from . import nlp

__all__ = [
    "Word", "Reading", "read", "digits", "bound_words", "bounds", "links", "near_links", "roles", "negated",
    "hedged", "sources", "connective_sides", "joined", "REPORTING",
]

LINK_REACH = 1  # how many links apart two evidence words may be for the claim to link them

# Closed classes of English grammar, not topic words.
NEGATIONS = {"not", "n't", "never", "no", "none", "nobody", "nothing", "neither", "nor", "without", "cannot"}
HEDGES = {
    "reportedly", "allegedly", "apparently", "purportedly", "supposedly", "possibly", "probably", "likely",
    "may", "might", "could", "alleged", "suspected", "believed", "presumably", "unconfirmed", "believe",
}
REPORTING = {
    "say", "tell", "state", "report", "claim", "add", "announce", "accord", "note", "explain", "write",
    "confirm", "cite", "quote", "describe", "call", "dub", "label", "term", "insist", "argue",
}
BOUND_WORDS = {
    "more", "over", "least", "above", "exceed", "upwards", "plus", "greater", "fewer", "less", "under", "most",
    "below", "nearly", "almost", "up", "than", "at", "to", "no", "not", "about", "around", "roughly",
    "approximately", "some", "only", "just",
}
LOWER = {"more", "over", "least", "above", "exceed", "upwards", "plus", "greater"}
UPPER = {"fewer", "less", "under", "most", "below", "nearly", "almost", "up"}
ABOUT = {"about", "around", "roughly", "approximately", "some"}
CONNECTIVES = {
    "because": {"cause"}, "due": {"cause"}, "so": {"cause"}, "therefore": {"cause"}, "thus": {"cause"},
    "since": {"cause", "after"}, "after": {"after"}, "following": {"after"}, "then": {"after"},
    "before": {"before"}, "until": {"before"}, "prior": {"before"}, "ahead": {"before"},
}
FUNCTION_LEMMAS = {"be", "have", "do", "get"}
CONTENT_TAGS = ("NN", "VB", "JJ", "RB", "CD")


def digits(text: str) -> str:
    """Number words as digits ("two of whom" -> "2 of whom", "nine and a half" -> "9.5")."""
    from number_parser import parse as to_digits

    text = re.sub(r"\b(an?|one) dozen\b", "12", text, flags=re.I)
    out = to_digits(text)
    return re.sub(r"\b(\d+) and a half\b", lambda m: f"{m.group(1)}.5", out)


@dataclass(frozen=True)
class Word:
    norm: str  # what is compared: a stem, or a number as digits
    lower: str
    lemma: str
    i: int  # token index in the parse
    content: bool


@dataclass(frozen=True)
class Reading:
    parse: nlp.Parse
    words: tuple[Word, ...]

    @property
    def norms(self) -> set[str]:
        return {w.norm for w in self.words}


@lru_cache(maxsize=8192)
def read(text: str) -> Reading:
    parse = nlp.parse(digits(text))
    words = []
    for i, t in enumerate(parse.tokens):
        low = _fold(t.text)
        if not re.search(r"\w", low):
            continue
        if re.fullmatch(r"\d[\d,]*(\.\d+)?", low):
            norm = low.replace(",", "")
        elif low in NEGATIONS:
            norm = "<not>"  # "no confirmation" and "not confirmed" deny alike
        elif (t.lemma in REPORTING and t.tag.startswith("VB")) or low == "according":
            norm = "<say>"  # "said", "stated", "according to" report alike
        else:
            norm = _stem(low.strip("'"))
        content = (
            low in NEGATIONS
            or norm.isdigit()
            or (t.tag.startswith(CONTENT_TAGS) and t.dep not in ("aux", "auxpass") and t.lemma not in FUNCTION_LEMMAS)
        )
        words.append(Word(norm, low, t.lemma, i, content))
    return Reading(parse, tuple(words))


def bound_words(r: Reading) -> set[int]:
    """Positions (in words) of the words that bound a number ("no fewer than 12")."""
    out = set()
    for k, w in enumerate(r.words):
        if w.norm.replace(".", "").isdigit():
            j = k - 1
            while j >= 0 and r.words[j].lower in BOUND_WORDS and k - j <= 4:
                out.add(j)
                j -= 1
    return out


def bounds(r: Reading) -> dict[str, str]:
    """Each number's bound: "lower" ("more than 12"), "upper", "about" or "exact"."""
    out: dict[str, str] = {}
    for k, w in enumerate(r.words):
        if not w.norm.replace(".", "").isdigit():
            continue
        before = [x.lower for x in r.words[max(0, k - 4) : k]]
        kind = "exact"
        for j, x in enumerate(before):
            flip = j > 0 and before[j - 1] in ("no", "not")
            if x in LOWER:
                kind = "upper" if flip else "lower"
            elif x in UPPER:
                kind = "lower" if flip else "upper"
            elif x in ABOUT:
                kind = "about"
        out.setdefault(w.norm, kind)
    return out


def linkable(r: Reading) -> dict[int, Word]:
    """Content words by token index, without the words that only bound a number."""
    bounded = bound_words(r)
    return {w.i: w for k, w in enumerate(r.words) if w.content and k not in bounded}


def content_heads(r: Reading) -> dict[int, int]:
    """Each content word's nearest content ancestor, read through function words."""
    words = linkable(r)
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


def links(r: Reading) -> set[tuple[str, str]]:
    """Dependency links between content words, unordered."""
    words = linkable(r)
    return {tuple(sorted((words[a].norm, words[b].norm))) for a, b in content_heads(r).items() if words[a].norm != words[b].norm}


def near_links(r: Reading) -> set[tuple[str, str]]:
    """Pairs of content words at most two links apart, or next to each other: what a faithful
    rewording may link (parsers attach a moved phrase to a neighbouring word)."""
    words = linkable(r)
    heads = content_heads(r)
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


def roles(r: Reading) -> dict[str, tuple[set[str], set[str]]]:
    """verb stem -> (its subject side, its objects and prepositional objects), a passive read
    as its active ("20 were arrested by police": police arrest 20)."""
    words = linkable(r)
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


def negated(r: Reading) -> set[str]:
    """Stems of the words a negation attaches to ("not arrested" -> "arrest")."""
    by_index = {w.i: w for w in r.words}
    bounded = {r.words[k].i for k in bound_words(r)}
    out = set()
    for i, t in enumerate(r.parse.tokens):
        if _fold(t.text) not in NEGATIONS or i in bounded:
            continue
        target = by_index.get(t.head)
        if target is None or target.norm == "<not>" or target.i == i:
            target = next((w for w in r.words if w.i > i and w.content and w.norm != "<not>"), None)
        if target is not None:
            out.add(target.norm)
    return out


def hedged(r: Reading) -> bool:
    return any(w.lower in HEDGES or w.lemma in HEDGES or w.norm == "<say>" for w in r.words)


def subtree(r: Reading, root: int) -> set[int]:
    keep = {root}
    changed = True
    while changed:
        changed = False
        for j, t in enumerate(r.parse.tokens):
            if j not in keep and t.head in keep and t.head != j:
                keep.add(j)
                changed = True
    return keep


def sources(r: Reading) -> set[str]:
    """Stems of who a reporting verb attributes the statement to ("police said", "according to X")."""
    by_index = {w.i: w for w in r.words}
    out = set()
    for i, t in enumerate(r.parse.tokens):
        if t.dep == "nsubj" and by_index.get(t.head) is not None and by_index[t.head].norm == "<say>" and _fold(t.text) not in ("he", "she", "they", "it", "i", "we"):
            out.update(by_index[j].norm for j in subtree(r, i) if j in by_index and by_index[j].content)
        elif _fold(t.text) == "according":
            out.update(by_index[j].norm for j in subtree(r, i) if j in by_index and by_index[j].content and j != i)
    return out


def connective_sides(r: Reading) -> list[tuple[set[str], set[str], set[str]]]:
    """(classes, the side a connective introduces, the rest) for each connective."""
    by_index = {w.i: w for w in r.words}
    content = {w.i for w in r.words if w.content}
    out = []
    for i, t in enumerate(r.parse.tokens):
        classes = CONNECTIVES.get(_fold(t.text))
        if not classes:
            continue
        side = subtree(r, t.head) if t.dep == "mark" else subtree(r, i)
        inner = {by_index[j].norm for j in side & content if j != i}
        outer = {by_index[j].norm for j in content - side if j != i}
        out.append((classes, inner, outer))
    return out


def joined(readings: list[Reading]) -> Reading:
    if len(readings) == 1:
        return readings[0]
    return read(" ".join(" ".join(t.text for t in r.parse.tokens) for r in readings))
