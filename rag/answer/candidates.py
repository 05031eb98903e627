"""Candidates: the sentences of the retrieved passages, and the short spans inside them.

A *sentence candidate* is a sentence of an article that lies mostly inside a
retrieved passage; sentences with the same text in several articles (one wire
story printed twice) are kept once, remembering every article that printed
them. A *span candidate* is a named thing, date or quantity inside such a
sentence (spaCy's entities), the material short answers are cut from.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..text import Sentence, normalize_answer, split_sentences
from ..types import Article, Passage
from . import nlp

__all__ = ["SentenceCandidate", "SpanCandidate", "SentenceCache", "gather", "spans_of"]

# A sentence that opens with a pronoun, or with a part of one ("Most of them spent Monday in the
# sports hall"), is about what the sentence before it named.
_LEADING_PRONOUN = re.compile(
    r"^[“\"‘']?(?:(?:most|some|many|all|none|each|both|several|few|half|one|two|three)\s+of\s+(?:them|these|those|it)"
    r"|he|she|they|it|his|her|their|its|this|that|these|those|but (?:he|she|they|his|her))\b",
    re.I,
)


@dataclass
class SentenceCandidate:
    """A sentence that may answer the question, where it came from and its neighbour."""

    doc_id: str
    sentence: Sentence
    passage: Passage
    rank: int  # rank of its passage among those retrieved (0 = best)
    position: int  # the sentence's index in its article
    context: Sentence | None = None  # the previous sentence, when this one opens with a pronoun
    also_in: list[str] = field(default_factory=list)  # other articles printing the same sentence

    @property
    def text(self) -> str:
        return self.sentence.text

    @property
    def with_context(self) -> str:
        """The sentence as quoted: after the sentence its pronoun needs, when it has one."""
        return (self.context.text + " " if self.context else "") + self.text


@dataclass(frozen=True)
class SpanCandidate:
    """A short answer candidate: characters of one sentence candidate."""

    text: str
    label: str
    sentence: int  # index into the sentence candidates
    start: int  # offsets within the sentence text
    end: int
    attached: str = ""  # the noun it belongs to in its sentence ("people" for "2,000 people")

    @property
    def key(self) -> str:
        return normalize_answer(self.text)


class SentenceCache:
    """Sentence splits of articles, kept for the most recent articles."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, int], list[Sentence]] = OrderedDict()

    def __call__(self, article: Article) -> list[Sentence]:
        key = (article.id, len(article.text))
        found = self._items.get(key)
        if found is None:
            found = self._items[key] = split_sentences(article.text)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        return found


def gather(
    passages: Sequence[Passage],
    articles: dict[str, Article],
    sentences_of: SentenceCache,
    story_of: Callable[[str], str] | None = None,
) -> list[SentenceCandidate]:
    """The sentence candidates of ``passages``, in passage order; with ``story_of`` (an article's
    story, `rag.stories`) a sentence's ``also_in`` names one article per other story, so
    syndicated copies of one story add no support."""
    story = story_of or (lambda doc_id: doc_id)
    out: list[SentenceCandidate] = []
    seen: set[tuple[str, int]] = set()
    by_text: dict[str, SentenceCandidate] = {}
    for rank, p in enumerate(passages):
        art = articles.get(p.chunk.doc_id)
        if art is None:
            continue
        sents = sentences_of(art)
        for i, s in enumerate(sents):
            # Sentences that lie mostly inside the chunk belong to it.
            overlap = min(s.end, p.chunk.end) - max(s.start, p.chunk.start)
            if overlap <= 0 or overlap < 0.5 * (s.end - s.start) or (art.id, s.start) in seen:
                continue
            seen.add((art.id, s.start))
            twin = by_text.get(s.text)
            if twin is not None:
                stories = {story(twin.doc_id), *map(story, twin.also_in)}
                if story(art.id) not in stories:
                    twin.also_in.append(art.id)
                continue
            context = sents[i - 1] if i > 0 and _LEADING_PRONOUN.match(s.text) else None
            cand = SentenceCandidate(art.id, s, p, rank, i, context)
            by_text[s.text] = cand
            out.append(cand)
    return out


NOUN_CHUNK = "NP"  # the label of a noun phrase that is not a named entity ("vinyl chloride")
_LEADING = re.compile(r"^(?:(?:the|a|an|this|that|these|those|its|his|her|their|our|my|your|some|any)\s+)+", re.I)
_PRONOUN = re.compile(r"^(?:i|you|he|she|it|we|they|me|him|her|us|them|who|what|which|that|this|one|someone|something|everyone|anyone)$", re.I)


_OPENING, _CLOSING = "“‘\"'", "”’\"'"


def _unquoted(text: str, a: int, b: int) -> tuple[int, int]:
    """``text[a:b]`` without a quotation mark at either edge whose partner lies outside it: the
    parser cuts "The “Cyber Partisans” vowed" after "Partisans", and a short answer shows the
    name, not a stray half of its quotes. A title quoted whole ("“Powering up Britain”") keeps both."""
    while a < b and text[a] in _OPENING and not any(c in text[a + 1 : b] for c in _CLOSING):
        a += 1
    while a < b and text[b - 1] in _CLOSING and not any(c in text[a : b - 1] for c in _OPENING):
        b -= 1
    return a, b


def spans_of(candidates: Sequence[SentenceCandidate], only: Sequence[int] | None = None) -> list[SpanCandidate]:
    """The short answer candidates in the sentence candidates (or in those at ``only``):
    spaCy's entities with their labels (PERSON, ORG, GPE, DATE, CARDINAL, …), and the noun
    phrases no entity covers, labelled `NOUN_CHUNK`."""
    which = list(range(len(candidates))) if only is None else list(only)
    found = nlp.phrases([candidates[i].text for i in which])
    out = []
    for i, (ents, chunks, attached) in zip(which, found):
        text = candidates[i].text
        for e, noun in zip(ents, attached):
            a, b = _unquoted(text, e.start, e.end)
            if normalize_answer(text[a:b]):
                out.append(SpanCandidate(text[a:b], e.label, i, a, b, noun))
        for a, b in chunks:
            if any(e.start < b and a < e.end for e in ents):
                continue
            piece = text[a:b]
            lead = _LEADING.match(piece)
            if lead:
                a = a + lead.end()
            a, b = _unquoted(text, a, b)
            piece = text[a:b]
            if piece and not _PRONOUN.match(piece) and normalize_answer(piece):
                out.append(SpanCandidate(piece, NOUN_CHUNK, i, a, a + len(piece)))
    return out
