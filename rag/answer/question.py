"""Read a question: what kind of answer it wants, the noun it asks about, its terms and names.

The answer class comes from the question's grammar (its wh-word, read by
spaCy's tagger and parser), never from topic words: "how many" wants a
number, "when" a time, "who" a person, "where" a place, "which X" / "what X" /
"this X" a thing of kind X (X is the *focus*, compared with candidate answers
by embedding), "why" a reason and "how" a manner. Classes that name a thing
(``FACTOID``) get a short answer drawn from an evidence sentence; the others
are answered with whole sentences.

Term weights are the index's inverse document frequencies (passed in as
``idf``), so "people" counts for less than "Almaty" because the articles say
so, not because a list does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..text import content_terms
from . import nlp

__all__ = ["Question", "analyze", "statement", "ANSWER_CLASSES", "COUNTED", "FACTOID", "QUANTITY_NOUNS", "SAY_LEMMAS"]

ANSWER_CLASSES = ("number", "time", "person", "place", "thing", "quote", "reason", "manner", "other")
FACTOID = ("number", "time", "person", "place", "thing")

# A quiz's verdict question: "X happened this week. True or false?", "True or false: X".
_TRUE_OR_FALSE = re.compile(r"\btrue\s*(?:or|/)\s*false\b[\s:?.!-]*", re.I)
_WH = {"who", "whom", "whose", "what", "which", "when", "where", "why", "how"}
# Grammar, not topic: the measure words of "how X", and the time nouns of "what X".
_HOW_NUMBER = {"many", "much", "old", "long", "far", "large", "big", "often", "tall", "high", "deep", "fast"}
_TIME_NOUNS = {"day", "date", "year", "month", "time", "week", "weekday", "hour", "decade", "century", "season"}
_PLACE_NOUNS = {"place", "location", "where"}
QUANTITY_NOUNS = ("number", "amount", "percentage", "percent", "share", "total", "toll", "count")  # "what is the toll"
# A count asked for: "how many", "how much", "the number of", "the toll".
COUNTED = re.compile(r"\bhow\s+(?:many|much)\b|\b(?:" + "|".join(QUANTITY_NOUNS) + r")s?\b", re.I)
SAY_LEMMAS = {
    "say", "call", "describe", "tell", "chant", "yell", "shout", "write", "claim", "warn", "urge", "demand",
    "accuse", "dub", "label", "refer", "compare", "announce", "promise", "vow", "characterize", "characterise",
}


@dataclass(frozen=True)
class Question:
    """A question as the reader sees it."""

    text: str
    answer_class: str
    focus: str = ""  # the noun the answer is an instance of: "team" in "which team"
    weights: dict[str, float] = field(default_factory=dict)  # content stem -> weight
    entities: tuple[str, ...] = ()  # the named things it is about
    referent: str | None = None  # what a pronoun stands for, resolved from the conversation
    core: str = ""  # the clause that asks ("how many people were arrested?"), without a preamble
    # The common nouns of a yes-or-no, why or how question: the things it asks something of
    # ("family" in "Did he have a family?", "internet" in "Why was the internet shut down?");
    # () for a question asking for a thing (who, which, how many…).
    things: tuple[str, ...] = ()

    @property
    def factoid(self) -> bool:
        return self.answer_class in FACTOID

    @property
    def asks_count(self) -> bool:
        """It asks how many or how much ("how many were arrested?", "what is the toll?"), not how
        long or how old: only a sentence that gives an amount can answer it."""
        return self.answer_class == "number" and bool(COUNTED.search(self.core or self.text))


def _wh_token(tokens) -> int | None:
    """The first question word of the last sentence that has one: a quiz question's preamble
    ("…the astronauts who will fly. How many were selected?") can hold relative ones."""
    found: int | None = None
    current: int | None = None
    for i, t in enumerate(tokens):
        if i > 0 and tokens[i - 1].text in (".", "?", "!") and t.text[:1].isupper():
            found = current if current is not None else found
            current = None
        if current is None and t.text.lower() in _WH and t.tag in ("WDT", "WP", "WP$", "WRB"):
            current = i
    return current if current is not None else found


def _noun_phrase(tokens, head: int, skip: int = -1) -> str:
    """The head noun with the run of nouns and adjectives before it ("Russian foreign ministry
    spokesperson"), starting after token ``skip``."""
    start = head
    while start - 1 > skip and tokens[start - 1].tag[:2] in ("NN", "JJ") and tokens[start - 1].dep in ("compound", "amod", "nmod"):
        start -= 1
    return " ".join(t.text for t in tokens[start : head + 1])


def _partitive(tokens, measure: int) -> int | None:
    """The noun a partitive "of" after ``measure`` names ("many of the protesters"), or None."""
    of = next((i for i in range(measure + 1, min(measure + 3, len(tokens)))
               if tokens[i].text.lower() == "of" and tokens[i].head == measure), None)
    if of is None:
        return None
    return next((j for j in range(of + 1, len(tokens)) if tokens[j].head == of and tokens[j].dep == "pobj"
                 and tokens[j].tag.startswith("NN")), None)


def _classify(parse) -> tuple[str, str]:
    """(answer class, focus) from the question's parse."""
    tokens = parse.tokens
    low = [t.text.lower() for t in tokens]
    w = _wh_token(tokens)
    if w is None:
        # A quiz "this X" ("…romped past this opponent", "…talks with this leader:").
        for i, t in enumerate(tokens):
            if low[i] in ("this", "these") and t.dep == "det" and tokens[t.head].tag.startswith("NN"):
                h = t.head
                if tokens[h].text.lower() in ("week", "year", "month", "weekend", "morning", "time"):
                    continue
                return _by_focus(tokens[h].lemma, _noun_phrase(tokens, h))
        if tokens and tokens[-1].text == ":":
            return "thing", ""  # a fill-in-the-blank quiz item ("…previously held by:")
        return "other", ""
    word = low[w]
    nxt = low[w + 1] if w + 1 < len(low) else ""
    if word == "how":
        if nxt in _HOW_NUMBER:
            # "how many people": "many" modifies the counted noun, with no verb between them
            measure = tokens[w + 1]
            head = measure.head if nxt in ("many", "much") and tokens[measure.head].tag.startswith("NN") else None
            if head is not None and (head <= w + 1 or any(t.tag[:2] in ("VB", "MD") for t in tokens[w + 2 : head])):
                head = None
            if head is None and nxt == "many":
                # "How many of the protesters": the protesters are counted. ("How much of the river"
                # measures a part of one thing, which is not what it counts.)
                head = _partitive(tokens, w + 1)
            focus = _noun_phrase(tokens, head, skip=w + 1) if head is not None else ""
            return "number", focus
        return "manner", ""
    if word == "when":
        return "time", ""
    if word == "where":
        return "place", ""
    if word == "why":
        return "reason", ""
    if word in ("who", "whom", "whose"):
        return "person", ""
    # what / which: a determiner of a noun ("which team"), or a pronoun ("what did he say")
    t = tokens[w]
    if t.dep == "det" and tokens[t.head].tag.startswith("NN"):
        return _by_focus(tokens[t.head].lemma, _noun_phrase(tokens, t.head))
    head = _noun_after(tokens, w)
    if head is not None:
        return _by_focus(tokens[head].lemma, _noun_phrase(tokens, head, skip=w))
    for i in range(w + 1, len(tokens)):
        if low[i] == "name" and i + 1 < len(low) and low[i + 1] == "of":
            head = next((j for j in range(i + 2, len(tokens)) if tokens[j].head == i + 1 and tokens[j].dep == "pobj"), None)
            if head is not None and tokens[head].tag.startswith("NN"):
                return _by_focus(tokens[head].lemma, _noun_phrase(tokens, head, skip=i + 1))
    if t.dep == "attr" and tokens[t.head].lemma == "be":
        # "What is the death toll?", "What was the date of the vote?": the question's first noun
        # subject (the copula's, or its clause's: "the tolls being reported") is what is asked
        # for; only a number, time or place noun makes it a factoid question.
        subject = next((j for j, s in enumerate(tokens) if s.dep in ("nsubj", "nsubjpass") and s.tag.startswith("NN")), None)
        if subject is not None:
            kind, phrase = _by_focus(tokens[subject].lemma, _noun_phrase(tokens, subject))
            if kind != "thing":
                return kind, phrase
    verbs = {tok.lemma for tok in tokens if tok.tag.startswith("VB")}
    if verbs & SAY_LEMMAS:
        return "quote", ""
    if verbs & {"cause", "spark", "trigger", "prompt", "lead"}:
        return "reason", ""
    return "other", ""


_NOUN_RUN = ("JJ", "NN", "HY", "CD")  # tag prefixes inside a noun phrase ("high-profile", "30-year")


def _noun_after(tokens, w: int) -> int | None:
    """The last noun of the noun phrase that directly follows the question word, read off the
    tags: "in which South Asian country?", "under which Moscow-led bloc's banner?" (the
    possessor: "which" determines the bloc), "concerning which of President Joe Biden's key
    programs?" (a partitive's whole phrase). The small parser often attaches such a "which"
    to the preposition before it, so its dependency link misses the noun it determines."""
    j = w + 1
    partitive = j < len(tokens) and tokens[j].text.lower() == "of" and tokens[w].text.lower() == "which"
    if partitive:
        j += 1
        while j < len(tokens) and tokens[j].tag in ("DT", "PRP$"):
            j += 1
    last = None
    while j < len(tokens):
        tag = tokens[j].tag
        if tag == "POS" and not partitive:
            break
        after_hyphen = tag[:2] == "VB" and tokens[j - 1].tag == "HYPH"  # "Moscow-led"
        if tag[:2] not in _NOUN_RUN and tag != "POS" and not after_hyphen:
            break
        if tag.startswith("NN"):
            last = j
        j += 1
    return last


def _by_focus(lemma: str, phrase: str) -> tuple[str, str]:
    if lemma in _TIME_NOUNS:
        return "time", phrase
    if lemma in _PLACE_NOUNS:
        return "place", phrase
    if lemma in QUANTITY_NOUNS:
        return "number", phrase
    return "thing", phrase


def _entities(parse) -> tuple[str, ...]:
    """Named things: spaCy's entities plus runs of proper nouns it did not label."""
    return tuple(dict.fromkeys(e.text for e in nlp.names(parse) if content_terms(e.text)))


def analyze(
    text: str, *, referent: str | None = None, idf: Callable[[list[str]], list[float]] | None = None,
    time_words: str = "",
) -> Question:
    """Analyse ``text``; ``referent`` is what its pronoun stands for (from the conversation),
    ``idf`` maps stems to inverse document frequencies (default: every term weighs 1).

    ``time_words`` are the words of its time expression ("on Wednesday"), which the date logic
    already answers for (`rag.timewords`): they are not terms a sentence must repeat, so "12
    dead on Wednesday" does not outscore "26 missing" for "How many were missing on Wednesday?"
    (a question of nothing but time words keeps them)."""
    parse = nlp.parse(text)
    answer_class, focus = _classify(parse)
    dated = set(content_terms(time_words))
    # One term per word, "1,000" included (one number, as sentences' terms have it).
    stems = list(dict.fromkeys(content_terms(text)))
    stems = [s for s in stems if s not in dated] or stems
    if referent:
        stems.extend(s for s in content_terms(referent) if s not in stems)
    values = idf(stems) if idf and stems else [1.0] * len(stems)
    weights = {s: float(v) for s, v in zip(stems, values)}
    ents = _entities(parse)
    if referent and referent not in ents:
        ents = (*ents, referent)
    core = _core(parse, text)
    asked = _things(parse, answer_class, max(0, text.rfind(core)) if core else 0)
    things = tuple(t for t in asked if all(s in weights for s in content_terms(t)))
    return Question(text, answer_class, focus, weights, ents, referent, core, things)


def _things(parse, answer_class: str, core_start: int) -> tuple[str, ...]:
    """The common nouns (lower case) of a yes-or-no question (one opening with an auxiliary or a
    modal, "Did", "Has", "Is", "Can": the inverted order of English yes-or-no questions), or of
    the asking clause (from ``core_start``) of a why or how question; () for any other."""
    tokens = [t for t in parse.tokens if t.tag != "CC"]  # "And did he…"
    if answer_class in ("reason", "manner"):
        tokens = [t for t in tokens if t.start >= core_start]
    elif answer_class != "other" or not tokens or tokens[0].tag not in ("VBZ", "VBP", "VBD", "MD"):
        return ()
    # A time noun ("this week") is not a thing asked of: the question's dates answer for it.
    nouns = [t for t in tokens if t.tag in ("NN", "NNS") and t.lemma.lower() not in _TIME_NOUNS]
    return tuple(dict.fromkeys(t.text.lower() for t in nouns if content_terms(t.text)))


def statement(text: str) -> str | None:
    """The statement a true-or-false question asks a verdict on ("Punxsutawney Phil saw his
    shadow this year" in "Punxsutawney Phil saw his shadow this year. True or false?"), or None
    for any other question."""
    if not _TRUE_OR_FALSE.search(text):
        return None
    return _TRUE_OR_FALSE.sub(" ", text).strip(" :?.!-\n\t") or None


def _core(parse, text: str) -> str:
    """The sentence that asks, without a preamble: "NFL player X collapsed. He plays for which
    team?" -> "He plays for which team?", and "In the crackdown in X, how many were arrested?" ->
    "how many were arrested?" (a leading phrase cut off by a comma). Without a question word,
    the whole text."""
    tokens = parse.tokens
    w = _wh_token(tokens)
    if w is None:
        return text
    start = 0
    for i in range(w, 0, -1):
        if tokens[i - 1].text in (".", "!", "?") and tokens[i].text[:1].isupper():
            start = i
            break
    if w > start and tokens[w - 1].text == ",":
        start = w
    return text[tokens[start].start :].strip()
