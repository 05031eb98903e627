"""Read a question: what kind of answer it wants, its key terms, and who "he" is.

Pure functions only. The answer type drives abstention ("How many…?" needs a
number in the evidence), the weighted terms drive sentence matching, and the
conversation turns resolve follow-ups before retrieval.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .text import STOPWORDS, _fold, content_terms

__all__ = ["Question", "analyze", "follow_up_context", "resolve_referent", "name_groups", "is_follow_up", "entities_in"]

# Answer types whose absence from the evidence means the article can't answer.
HARD_TYPES = ("number", "time", "name")

_TYPE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("number", re.compile(r"\bhow (many|much|old|long|far|large|big|often)\b|\bwhat (number|percentage|percent|share|proportion|amount)\b|\bdeath toll\b")),
    ("time", re.compile(r"^when\b|\bwhen (did|was|were|is|will|do|does|had)\b|\b(what|which) (day|date|year|month|time|week|weekday|hour)\b|\bon what (day|date)\b|\bwhat time\b")),
    ("name", re.compile(r"\b(what is|what's|what was|whats) (the |his |her |their )?(full )?name\b|\bnamed?\b|\bname of\b|^(who|who's) (is|was|are|were) (the|a|an|its|his|her|their|\w+'s) \w+")),
    # Only a question about a person, not a relative clause ("Russians who are in…").
    ("person", re.compile(r"^(and |but |so )?(who|whom|whose)\b|\b(by|to|for|with|from|of|according to) (whom|who)\b")),
    ("place", re.compile(r"\bwhere\b|\b(what|which|in what) (city|country|countries|place|town|region|square|location|nation|capital)\b")),
    ("quote", re.compile(r"\b(what|how)\b.*\b(say|said|says|call|called|calling|dub|dubbed|describe|described|characteri[sz]ed?|label(l)?ed|tell|told|chant|chanted|chanting|yell|yelling|shout|shouting|write|wrote|claim|claimed|warn|warned|urge|urged|demand|demanded|accuse|accused|refer|referred|compare|compared)\b")),
    ("reason", re.compile(r"\bwhy\b|\bwhat (caused|sparked|triggered|prompted|led to|started)\b|\breasons?\b|\bhow come\b")),
]

# Words that name the answer type, not the topic ("what *day*", "the *name* of").
_TYPE_WORDS = {
    "day", "date", "year", "month", "time", "week", "weekday", "hour", "name", "named", "number", "kind",
    "type", "percentage", "percent", "amount", "happen", "happened", "exactly", "roughly", "approximately",
    "mention", "mentioned", "according", "reason", "reasons", "cause", "caused",
}
# Common words that say little about which sentence answers: matched or not, they weigh less.
_WEAK_WORDS = {
    "people", "person", "country", "countries", "government", "state", "city", "group", "official",
    "officials", "thing", "way", "part", "use", "used", "call", "called", "take", "took", "go", "went",
    "come", "came", "put", "set", "new", "old", "first", "last", "year", "years", "day", "days", "time",
    "week", "many", "much", "want", "wanted", "try", "tried", "become", "became", "show", "showed",
    "announce", "announced", "happen", "event", "events", "situation",
}

_PRONOUNS = re.compile(r"\b(he|him|his|she|her|hers|they|them|their|theirs|it|its|this|that|these|those|there)\b")
# "the president" refers back only when the question names nothing itself
# ("What did the president say?" vs "Who is the president of Kazakhstan?").
_DEFINITE = re.compile(
    r"\bthe (country|city|group|president|leader|ministry|man|woman|agency|organization|organisation|army|troops)\b"
)
_ELLIPTIC = re.compile(r"^(and|what about|how about|what else|anything else|and the|also|how so|who else|where else)\b")


@dataclass(frozen=True)
class Question:
    """A question as the evidence scorer sees it."""

    text: str
    qtype: str
    weights: dict[str, float]
    surface: dict[str, str]
    entities: list[str]
    referents: dict[str, float] = field(default_factory=dict)
    focus: tuple[str, ...] = ()  # stems of what is counted ("how many X") or named ("name of the X")

    @property
    def hard_type(self) -> bool:
        return self.qtype in HARD_TYPES


def question_type(text: str) -> str:
    q = _fold(text).strip()
    for name, pattern in _TYPE_PATTERNS:
        if pattern.search(q):
            return name
    return "other"


def entities_in(text: str) -> list[str]:
    """Proper names and numbers a question relies on ("Almaty", "2019", "World Cup").

    A capitalised word counts unless it opens the question or is a function word;
    quoted phrases count whole.
    """
    found: list[str] = []
    words = re.findall(r"[\w][\w'’\-.]*[\w]|\w", text)
    for i, w in enumerate(words):
        bare = re.sub(r"['’]s$", "", w)
        if re.fullmatch(r"\d[\d,.]*", bare):
            found.append(bare.replace(",", ""))
        elif bare[:1].isupper() and i > 0 and bare.lower() not in STOPWORDS and bare.lower() not in _TYPE_WORDS:
            found.append(bare)
    return found


_NP = r"(?:the |a |an |its |his |her |their |this |that )?((?:[\w'’\-]+ ?){1,3})"
_FOCUS = {
    "number": [re.compile(r"\bhow (?:many|much) (?:of (?:the|those|these|them) )?((?:[\w'’\-]+ ?){1,3})")],
    "name": [re.compile(r"\bname of " + _NP), re.compile(r"\bnamed? " + _NP), re.compile(r"\b(?:is|was|are|were) " + _NP)],
}


def _focus(text: str, qtype: str) -> tuple[str, ...]:
    """The noun phrase a number or a name must be attached to in the evidence."""
    folded = _fold(text)
    m = next((m for p in _FOCUS.get(qtype, []) if (m := p.search(folded))), None)
    if not m:
        return ()
    stems = []
    for w in m.group(1).split():
        if w in STOPWORDS or w in _TYPE_WORDS:
            break  # the noun phrase ends at the first function word ("were", "did")
        stems.extend(content_terms(w))
    return tuple(stems)


def analyze(text: str, referent_text: str = "", referent: str | None = None) -> Question:
    """Weigh a question's content terms.

    ``referent`` is the name a pronoun in a follow-up stands for ("he" ->
    "Tokayev"): it counts as a term of the question. ``referent_text`` is the
    earlier turn; its names add a small bonus.
    """
    qtype = question_type(text)
    weights: dict[str, float] = {}
    surface: dict[str, str] = {}
    entity_stems = set()
    ents = entities_in(text)
    for e in ents:
        entity_stems.update(content_terms(e))
    for raw in re.findall(r"[\w][\w'’\-.]*[\w]|\w", text):
        low = _fold(raw)
        if low in STOPWORDS or low.strip(".") in _TYPE_WORDS:
            continue
        for stem in content_terms(raw):
            if stem in weights:
                continue
            w = 1.0
            if stem in entity_stems:
                w = 1.5
            elif low in _WEAK_WORDS:
                w = 0.5
            weights[stem] = w
            surface[stem] = raw.strip(".-'’").lower()
    if referent:
        for stem in content_terms(referent.split()[-1]):
            weights.setdefault(stem, 1.0)
            surface.setdefault(stem, referent.split()[-1].lower())
    referents: dict[str, float] = {}
    for e in entities_in(referent_text):
        for stem in content_terms(e):
            if stem not in weights:
                referents[stem] = 0.6
                surface.setdefault(stem, e.lower())
    return Question(
        text=text,
        qtype=qtype,
        weights=weights,
        surface=surface,
        entities=ents,
        referents=referents,
        focus=_focus(text, qtype),
    )


def is_follow_up(question: str) -> bool:
    """Does the question lean on the conversation ("What did he say?", "And Belarus?")?"""
    q = _fold(question).strip()
    if _PRONOUNS.search(q) or _ELLIPTIC.search(q) or not content_terms(question):
        return True
    return bool(_DEFINITE.search(q)) and not entities_in(question)


_PERSONAL = re.compile(r"\b(he|him|his|she|her|hers|they|them|their|it|its)\b")


def name_groups(text: str) -> list[str]:
    """Runs of capitalised words ("Kassym-Jomart Tokayev"), the opening word excluded when alone."""
    groups: list[list[str]] = []
    current: list[str] = []
    matches = list(re.finditer(r"[\w][\w'’\-]*", text))
    words = [m.group() for m in matches]
    for i, w in enumerate(words):
        bare = re.sub(r"['’]s$", "", w)
        if current and text[matches[i - 1].end() : matches[i].start()].strip():
            groups.append(current)  # punctuation between words ends a name
            current = []
        if bare[:1].isupper() and bare.lower() not in STOPWORDS:
            current.append(bare)
            if bare != w:  # a possessive ends the name
                groups.append(current)
                current = []
        else:
            if current:
                groups.append(current)
            current = []
        if i == 0 and current and len(words) > 1 and not words[1][:1].isupper():
            current = []  # a lone capitalised first word is just the sentence start
    if current:
        groups.append(current)
    return [" ".join(g) for g in groups]


def resolve_referent(question: str, history: Sequence[dict] | None) -> str | None:
    """The name a pronoun in ``question`` most likely points to: the first name in the
    latest answer, else in the latest user question."""
    if not history or not _PERSONAL.search(_fold(question)):
        return None
    last_user, last_reply = _last_turns(history)
    asked = set(content_terms(last_user))
    for text in (last_reply, last_user):
        groups = name_groups(text)
        if not groups:
            continue
        # The name that answered the last question sits next to what it asked
        # ("Who is the president?" -> "President Kassym-Jomart Tokayev").
        return max(enumerate(groups), key=lambda ig: _referent_score(text, ig[1], asked, ig[0]))[1]
    return None


def _referent_score(text: str, group: str, asked: set[str], position: int) -> tuple[int, int]:
    stems = set(content_terms(group))
    holds = bool(stems & asked) and not stems <= asked
    return (3 * holds + 2 * _near_terms(text, group, asked) + (not stems <= asked), -position)


def _near_terms(text: str, group: str, terms: set[str], window: int = 3) -> bool:
    """Is a term of ``terms`` in ``group`` or within ``window`` words of it?"""
    if set(content_terms(group)) & terms:
        return True
    words = re.findall(r"[\w][\w'’\-]*", text)
    first = group.split()[0]
    for i, w in enumerate(words):
        if w.startswith(first):
            nearby = words[max(0, i - window) : i + len(group.split()) + window]
            if any(set(content_terms(x)) & terms for x in nearby):
                return True
    return False


def _last_turns(history: Sequence[dict]) -> tuple[str, str]:
    last_user = ""
    last_reply = ""
    for turn in reversed(history):
        role = turn.get("role")
        content = str(turn.get("content") or "")
        if role == "assistant" and not last_reply and not last_user:
            last_reply = re.sub(r"\s*\[\d+\]", "", content)
        elif role == "user" and not last_user:
            last_user = content
        if last_user:
            break
    return last_user, last_reply


def follow_up_context(question: str, history: Sequence[dict] | None) -> str:
    """Text from earlier turns that a follow-up refers to; empty for a standalone question.

    Uses the latest user turn and the assistant's reply to it (citation markers
    removed), which is where "he", "they" or "that" point in a news conversation.
    """
    if not history or not is_follow_up(question):
        return ""
    last_user, last_reply = _last_turns(history)
    if last_reply.startswith("The indexed articles don't say"):
        last_reply = ""
    return " ".join(p for p in (last_user, last_reply) if p).strip()
