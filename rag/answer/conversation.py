"""Follow-ups: who "he" is, what "And Belarus?" asks, and what the retrieval query should hold.

A pronoun resolves to a named thing of a fitting kind (spaCy's entity labels:
"he"/"she" want a PERSON, "it" a thing that is not a person, "they" either)
from the conversation's latest answer, else the question it answered, else
earlier turns. When several fit equally, or only an older turn has one, the
choice is reported in `Resolution.note` so the answer can say whom it took the
question to be about. "It" may also stand for a thing the latest turn named
without a name ("ordered an independent inquiry" -> "Who's running it?"): when
no named thing of that turn fits, its noun phrase that is not a person's is
taken (the object of its verb first), said in the note, since it is a reading
of grammar rather than of a name. So is "them" in a partitive ("How many of
them were sent?" after "Russia sent in paratroopers"): a share of a group means
a plural noun, never a name like "Russia", and the question is asked again with
it ("How many of the paratroopers were sent?"), so that a count is checked
against what it counts. An elliptic follow-up ("And Belarus?", "What about
Armenia?") is rewritten into the previous question with the new name put in
place of the old one of the same kind.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..text import _fold, content_terms
from . import nlp

__all__ = ["Resolution", "resolve", "taken_to_mean", "ABSTAIN_PREFIX"]

ABSTAIN_PREFIX = "The indexed articles don't say"

_PRONOUN = re.compile(r"\b(he|him|his|she|her|hers|they|them|their|theirs|it|its)\b", re.I)
_PERSON = {"he", "him", "his", "she", "her", "hers"}
_THING = {"it", "its"}
_ELLIPSIS = re.compile(r"^\s*(?:and|what about|how about|and what about|same for|also)\s+(?:for\s+|in\s+|the\s+)?(.+?)\s*\??\s*$", re.I)
_FOLLOW_UP_START = re.compile(r"^(and|what about|how about|what else|anything else|also|how so|who else|where else|why)\b", re.I)
_DEFINITE = re.compile(r"\bthe (country|city|group|president|leader|ministry|man|woman|agency|organization|organisation|army|troops|company|team|government)\b", re.I)
_PEOPLE = {"PERSON"}


@dataclass(frozen=True)
class Resolution:
    """How a question reads in its conversation."""

    question: str  # the question to answer (an elliptic follow-up is rewritten)
    query: str  # what to retrieve with: the question, its referent and the turn it follows
    referent: str | None = None  # what its pronoun stands for
    note: str | None = None  # said to the user when the reading is a guess
    pronoun: str | None = None  # the pronoun it leans on, if any


def _clean(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text or "").strip()


def _turns(history: Sequence[dict] | None) -> list[tuple[str, str]]:
    """(user question, assistant reply) pairs, latest first; an abstention counts as no reply."""
    pairs: list[tuple[str, str]] = []
    pending_reply = ""
    for turn in reversed(list(history or [])):
        role, content = turn.get("role"), _clean(str(turn.get("content") or ""))
        if role == "assistant":
            pending_reply = "" if content.startswith(ABSTAIN_PREFIX) else content
        elif role == "user":
            pairs.append((content, pending_reply))
            pending_reply = ""
    return pairs


def is_follow_up(question: str) -> bool:
    """Does the question lean on the conversation ("What did he say?", "And Belarus?")?"""
    if _PRONOUN.search(question) or _FOLLOW_UP_START.search(question.strip()) or not content_terms(question):
        return True
    return bool(_DEFINITE.search(question)) and not nlp.parse(question).entities


def _names(text: str) -> list[nlp.Entity]:
    return nlp.names(nlp.parse(text)) if text else []


def _subjects(text: str) -> list[int]:
    """Character offsets of the grammatical subjects in ``text``; in a reply without a verb ("The
    Russia-led Collective Security Treaty Organization."), the noun it is built on."""
    return [t.start for t in nlp.parse(text).tokens
            if t.dep in ("nsubj", "nsubjpass") or (t.dep == "ROOT" and t.tag.startswith("NN"))]


def _fits(pronoun: str, label: str) -> bool:
    if pronoun in _PERSON:
        return label in _PEOPLE or label == "PROPN"  # an unlabelled proper name may be a person
    if pronoun in _THING:
        return label not in _PEOPLE
    return True  # they / them / their: people, groups, countries


def _things(text: str, asked: set[str], plural: bool = False) -> list[str]:
    """The common nouns ``text`` speaks of, as their noun phrases without determiners or
    adjectives ("an independent inquiry" -> "inquiry", "the emergency spillway" -> "emergency
    spillway"): its objects first, then its subjects, then the rest in text order; none that
    hold a person or that the question (``asked``, its content terms) already names; with
    ``plural``, only plural ones."""
    if not text:
        return []
    p = nlp.parse(text)
    people = [(e.start, e.end) for e in p.entities if e.label in _PEOPLE]
    found = []
    for start, end in p.noun_chunks:
        span = p.tokens[start:end]
        root = next((t for t in span if not start <= t.head < end or p.tokens[t.head] is t), span[-1])
        if root.tag not in (("NNS",) if plural else ("NN", "NNS")) or any(a <= t.start < b for t in span for a, b in people):
            continue
        words = " ".join(t.text for t in span if t.tag in ("NN", "NNS", "NNP", "NNPS"))
        if words and not set(content_terms(words)) <= asked:
            order = 0 if root.dep in ("dobj", "pobj", "attr") else 1 if root.dep.startswith("nsubj") else 2
            found.append((order, root.start, words))
    return [w for _, _, w in sorted(found)]


def _partitive_them(question: str) -> tuple[int, int] | None:
    """Where "them" stands in a partitive ("how many of them", "most of them"), or None: a share
    of a group, so it can only mean a plural noun, never a name such as "Russia"."""
    tokens = nlp.parse(question).tokens
    for i in range(2, len(tokens)):
        if (tokens[i].text.lower() == "them" and tokens[i - 1].text.lower() == "of"
                and tokens[i - 2].tag in ("JJ", "JJS", "CD", "DT", "PDT")):
            return tokens[i].start, tokens[i].start + len(tokens[i].text)
    return None


def _pick(pronoun: str, question: str, history: Sequence[dict] | None) -> tuple[str | None, str | None]:
    """(referent, note) for ``pronoun``."""
    asked = {e.text for e in _names(question)}
    for depth, (user, reply) in enumerate(_turns(history)[:3]):
        referent, note = _pick_named(pronoun, asked, depth, user, reply)
        if referent is not None:
            return referent, note
        if depth == 0 and pronoun in _THING:
            unnamed = _unnamed_thing(pronoun, question, user, reply)
            if unnamed is not None:
                return unnamed
    return None, None


def _unnamed_thing(pronoun: str, question: str, user: str, reply: str, plural: bool = False) -> tuple[str, str] | None:
    """(referent, note) for a pronoun standing for a thing the turn (``user``, ``reply``) named
    without a name (`_things`: the reply's first, then the question's), or None when it named none."""
    terms = set(content_terms(question))
    things = _things(reply, terms, plural) or _things(user, terms, plural)
    return (things[0], f"Taking “{pronoun}” to mean the {things[0]}.") if things else None


def _pick_named(pronoun: str, asked: set[str], depth: int, user: str, reply: str) -> tuple[str | None, str | None]:
    """(referent, note) among the named things of one turn, latest first; (None, None) when none fits."""
    in_user = {e.text for e in _names(user)}
    for text, prefer_new in ((reply, True), (user, False)):
        names = [e for e in _names(text) if _fits(pronoun, e.label) and e.text not in asked]
        if not names:
            continue
        subjects = _subjects(text)
        ranked = sorted(
            names,
            key=lambda e: (
                prefer_new and e.text in in_user,  # in a reply, the name the question did not hold answers it
                pronoun in _PERSON and e.label != "PERSON",
                not any(e.start <= s < e.end for s in subjects),  # the subject of its sentence first
                e.start,
            ),
        )
        best = ranked[0].text
        distinct = {_key(e.text) for e in ranked if not (prefer_new and e.text in in_user)}
        if _key(best) in distinct:
            distinct.discard(_key(best))
        # A shorter mention of the same name ("Tokayev" for "Kassym-Jomart Tokayev") is not a rival.
        rivals = [d for d in distinct if not (set(d.split()) & set(_key(best).split()))]
        note = None
        if rivals or depth > 0:
            note = f"Taking “{pronoun}” to mean {best}."
        return best, note
    return None, None


def _key(name: str) -> str:
    return " ".join(content_terms(name))


def _rewrite_ellipsis(question: str, history: Sequence[dict] | None) -> str | None:
    """ "And Belarus?" after "Who is the leader of Kazakhstan?" -> "Who is the leader of Belarus?" """
    m = _ELLIPSIS.match(question)
    turns = _turns(history)
    if not m or not turns:
        return None
    fragment = m.group(1).strip()
    # Only a bare phrase is elliptic: "And what did she say?" is a whole question of its own.
    if any(t.tag.startswith(("VB", "W", "MD")) for t in nlp.parse(fragment).tokens):
        return None
    new = [e for e in _names(question) if e.start >= m.start(1)]
    if not new:
        return None
    previous = turns[0][0]
    old = _names(previous)
    same_kind = [e for e in old if e.label == new[0].label] or old
    if not same_kind:
        return None
    target = same_kind[-1]
    return previous[: target.start] + fragment + previous[target.end :]


def resolve(question: str, history: Sequence[dict] | None) -> Resolution:
    """Read ``question`` in its conversation (``history``: earlier {"role", "content"} turns)."""
    question = question.strip()
    if not history or not is_follow_up(question):
        return Resolution(question, question)
    rewritten = _rewrite_ellipsis(question, history)
    turns = _turns(history)
    context = " ".join(p for p in turns[0] if p) if turns else ""
    if rewritten:
        return Resolution(rewritten, f"{rewritten} {context}".strip(), note=f"Reading it as: {rewritten}")
    where = _partitive_them(question)
    group = _unnamed_thing("them", question, *turns[0], plural=True) if where is not None and turns else None
    if group is not None:
        # "How many of them were sent?" after "Russia sent in paratroopers": asked again as
        # "How many of the paratroopers were sent?", so the count is checked against them.
        rewritten = f"{question[: where[0]]}the {group[0]}{question[where[1]:]}"
        return Resolution(rewritten, f"{rewritten} {context}".strip(), group[0], group[1], "them")
    referent, note, pronoun = None, None, None
    m = _PRONOUN.search(question)
    if m:
        pronoun = _fold(m.group(1))
        referent, note = _pick(pronoun, question, history)
    query = " ".join(p for p in (question, referent, context) if p)
    return Resolution(question, query, referent, note, pronoun)


def taken_to_mean(res: Resolution, sentence: str) -> str | None:
    """When the conversation did not say who "he" is, whom the answer's sentence is about."""
    if res.pronoun is None or res.referent is not None:
        return None
    names = [e for e in _names(sentence) if _fits(res.pronoun, e.label)]
    return f"Taking “{res.pronoun}” to mean {names[0].text}." if names else None
