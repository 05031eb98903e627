"""Kinds: whether the sentence an answer would quote is of the kind its question asks for.

The reader's confidence is a calibrated score over many measurements; some questions
also need their sentence to hold a thing of a certain kind, whatever the score:

* a count ("how many", "how much", "the toll") needs a sentence that gives an amount:
  a cardinal number (tagged CD: "13", "thirteen", but not the ordinal "first"), an amount
  spaCy recognises ("dozens", "$5,000", "40 percent"), or none at all ("no one");
  "the funeral of the first worker to die" is about the dead and says nothing of how many.
  And when the sentence names the thing counted ("how many paratroopers") but each of its
  amounts counts something else ("Dozens of demonstrators … and Russia sent in
  paratroopers"), it gives the number of another thing;
* a yes-or-no question ("Did he have a family?") needs a sentence that mentions the
  things it asks of, its common nouns, for at least half their idf weight: a sentence
  about him that never mentions a family cannot settle it. Its verb may be paraphrased
  ("Did any chlorine leak?" / "No chlorine escaped"), its things may not. So does a why
  or how question, of the nouns of its asking clause: "Banks have been shut down" does
  not say why the internet was;
* a question asking what someone said ("What has he called the demonstrators?") needs a
  sentence that reports speech: a verb of saying (the ones that make a question ask for a
  quote, `SAY_LEMMAS`), "according to" or a quotation. "His removal did little to calm
  demonstrators, who rail against Tokayev" names him and them, and says nothing he said.
  A question whose verb of saying governs a clause of its own ("What did it say the death
  toll was?") asks for the fact reported, and any sentence giving it will do;
* a question asking for a name ("What is the name of the blogger who filmed it?") needs a
  sentence that names something the question does not: a named thing or a quoted title.
  "Video posted by a local blogger showed the mayor's office ablaze" names nobody;
* a question asking who holds a role ("What is the name of the lawmaker who…?", "Who is
  the mayor of Almaty?") needs a sentence that names a person (spaCy's PERSON, or a run of
  proper nouns) the question does not: "A Russian lawmaker offered similar sentiments" only
  repeats the role. The role must be a noun of people (`rag.answer.nouns`); "the name of
  the new plan" is answered by any name, as above. "Which official's office…?" and "Which
  broadcaster…?" are not asked this way: a role or an outlet can answer them ("the mayor's
  office", "State TV"), and on realtimeqa-2023 and the seed sets requiring a person's name
  there lost four right answers for two wrong ones;
* a question asking for a thing (who, which, how many…) needs a sentence that says
  something it did not: a quiz that prints its own question ("Which new series has
  provoked 1,000 complaints?") answers nothing. A yes-or-no or true-or-false question is
  another matter: a sentence stating just its claim is the best answer it can have.
"""

from __future__ import annotations

import re

from ..text import content_terms
from . import nlp
from .features import terms_found
from .nouns import names_people
from .question import SAY_LEMMAS, Question

__all__ = ["gives_amount", "repeats_question", "reports_speech", "unfit"]

_AMOUNT_LABELS = ("CARDINAL", "MONEY", "PERCENT", "QUANTITY")
_NONE = re.compile(r"\b(?:none|zero|nobody|no one)\b", re.I)
_QUOTATION = re.compile(r'[“”"]')
_ACCORDING = re.compile(r"\baccording\s+to\b", re.I)
_ASKS_NAME = re.compile(r"\bname\b", re.I)
_QUOTED = re.compile(r"[“\"]([^”\"]+)[”\"]")
# "the name of the …", "who is the …": what follows is the role whose holder is asked for.
_ASKS_HOLDER = re.compile(r"\b(?:name\s+of|who(?:'s|\s+is|\s+was|\s+are|\s+were))\s+(?:the|a|an|this|that)\s", re.I)


def unfit(q: Question, text: str) -> str | None:
    """Why ``text`` cannot answer ``q`` (a reason a reader can act on), or None when it can."""
    if q.asks_count and not gives_amount(text):
        return "no passage gives the number asked for"
    other = _counts_another_thing(q, text)
    if other:
        return f"the passage that comes closest gives no number of {q.focus} (its numbers count: {other})"
    if q.factoid and repeats_question(q, text):
        return "the closest passage only repeats the question"
    if _ASKS_NAME.search(q.core or q.text) and not _names_something_new(q, text):
        return "no passage gives the name asked for"
    role = _role_asked(q)
    if role and not _names_a_person(q, text):
        return f"no passage names the {role} asked about"
    if q.answer_class == "quote" and _asks_words(q) and not reports_speech(text):
        return "no passage reports what was said"
    unsaid = _unsaid_things(q, text)
    if unsaid:
        return f"the passage that comes closest does not mention {', '.join(unsaid)}"
    return None


def gives_amount(text: str) -> bool:
    """Whether ``text`` states an amount (see the module docstring)."""
    p = nlp.parse(text)
    return (
        any(t.tag == "CD" for t in p.tokens) or any(e.label in _AMOUNT_LABELS for e in p.entities) or bool(_NONE.search(text))
    )


def _counts_another_thing(q: Question, text: str) -> str:
    """What ``text`` counts instead of the thing ``q`` asks how many of, when it mentions that thing
    but every amount in it belongs to another noun (see the module docstring); "" otherwise. An
    amount whose noun the parse cannot tell ("rose to two") may count the thing, so it passes."""
    thing = content_terms(q.focus.split()[-1]) if q.asks_count and q.focus else []
    if not thing:
        return ""  # not a count, or one of nothing named: nothing to parse the sentence for
    # Named as a noun: "the most studio albums released (65)" does not name the releases asked for.
    nouns = {s for t in nlp.parse(text).tokens if t.tag.startswith("NN") for s in content_terms(t.text)}
    if not terms_found(thing, nouns):
        return ""
    found, _, attached = nlp.phrases([text])[0]
    # "30 years" is a date to spaCy, and still the amount a "how many years" question asks for.
    if any(terms_found(thing, set(content_terms(f"{e.text} {noun}"))) for e, noun in zip(found, attached)):
        return ""
    counted = [noun for e, noun in zip(found, attached) if e.label in _AMOUNT_LABELS]
    if not counted or not all(any(ch.isalpha() for ch in noun) for noun in counted):
        return ""
    return ", ".join(dict.fromkeys(counted))


def reports_speech(text: str) -> bool:
    """Whether ``text`` reports what someone said (see the module docstring)."""
    if _QUOTATION.search(text) or _ACCORDING.search(text):
        return True
    return any(t.lemma in SAY_LEMMAS and t.tag.startswith("VB") for t in nlp.parse(text).tokens)


def _new(q: Question, texts: list[str]) -> list[str]:
    """Those of ``texts`` whose words are not all the question's own."""
    asked = set(q.weights)
    return [t for t in texts if (stems := content_terms(t)) and not terms_found(stems, asked)]


def _names_something_new(q: Question, text: str) -> bool:
    """Whether ``text`` holds a named thing (`nlp.names`) or a quoted title the question does not:
    what a question asking for a name can be answered with."""
    return bool(_new(q, [e.text for e in nlp.names(nlp.parse(text))] + _QUOTED.findall(text)))


def _role_asked(q: Question) -> str:
    """The role whose holder ``q`` asks for by name ("lawmaker" in "What is the name of the Russian
    lawmaker who…?"): the noun heading the phrase after "the name of the" or "who is the", when it
    names people (`rag.answer.nouns`); "" otherwise."""
    core = q.core or q.text
    m = _ASKS_HOLDER.search(core)
    if m is None:
        return ""
    p = nlp.parse(core)
    chunk = next(((a, b) for a, b in p.noun_chunks if p.tokens[b - 1].start >= m.end()), None)
    if chunk is None:
        return ""
    head = p.tokens[chunk[1] - 1]
    if not head.tag.startswith("NN") or head.tag.startswith("NNP"):
        return ""  # "Who is Nursultan Nazarbayev?" asks who a named man is, not for a name
    if chunk[1] - 1 > chunk[0] and names_people(f"{p.tokens[chunk[1] - 2].text} {head.lemma}"):
        return f"{p.tokens[chunk[1] - 2].text} {head.text}"  # "police chief"
    return head.text if names_people(head.lemma) else ""


def _names_a_person(q: Question, text: str) -> bool:
    """Whether ``text`` names a person the question does not: spaCy's PERSON, or a run of proper
    nouns it left unlabelled ("Maria Zakharova" is not always recognised)."""
    return bool(_new(q, [e.text for e in nlp.names(nlp.parse(text)) if e.label in ("PERSON", "PROPN")]))


def _asks_words(q: Question) -> bool:
    """Whether a quote question asks for the words said, not for a fact its verb of saying
    reports in a clause of its own ("What did it say the death toll was?")."""
    tokens = nlp.parse(q.core or q.text).tokens
    saying = [i for i, t in enumerate(tokens) if t.lemma in SAY_LEMMAS and t.tag.startswith("VB")]
    return not any(t.dep == "ccomp" and t.head in saying for t in tokens)


def repeats_question(q: Question, text: str) -> bool:
    """Whether every term of ``text`` is already in the question."""
    stems = content_terms(text)
    return bool(stems) and terms_found(stems, set(q.weights))


def _unsaid_things(q: Question, text: str) -> list[str]:
    """The things a yes-or-no, why or how question asks of that ``text`` leaves out, when they
    are more than half their weight (idf); [] when the text mentions at least half, or the
    question is not one ("Can people still get to their banks?" is answered by "Banks have been
    shut down")."""
    if not q.things:
        return []
    terms = set(content_terms(text))

    def weight(word: str) -> float:
        return sum(q.weights.get(s, 1.0) for s in content_terms(word))

    missing = [w for w in q.things if not terms_found(content_terms(w), terms)]
    return missing if sum(map(weight, missing)) > sum(map(weight, q.things)) / 2 else []
