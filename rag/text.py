"""Small text utilities shared by retrieval, evidence scoring and answer checking.

One job: turn raw article text into sentences with exact character spans, and
sentences or questions into comparable terms (lowercased, stemmed, numbers
normalised). Everything here is pure and cheap, so it runs per question.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "Sentence",
    "split_sentences",
    "terms",
    "content_terms",
    "acronyms",
    "index_terms",
    "numbers_in",
    "normalize_answer",
    "STOPWORDS",
]

# Abbreviations after which a period does not end a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov", "gen", "col", "lt", "sgt", "capt",
    "st", "jr", "sr", "inc", "corp", "co", "ltd", "vs", "no", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n", "e.g", "i.e",
    "etc", "approx", "dept", "est", "fig", "mt", "ft",
}

_CLOSERS = "\"'”’)]»"
# A candidate boundary: terminal punctuation, optional closing quotes/brackets, whitespace.
# Citation markers ("… arrested. [1]") stay with the sentence they follow.
# Chinese and Japanese full stops end a sentence with no space after them.
_CLOSERS_CJK = _CLOSERS + "」』）"
_BOUNDARY = re.compile(
    r"[.!?…]+[" + re.escape(_CLOSERS) + r"]*(?:\s*\[\d+\])*(?=\s|$)"
    r"|[。！？]+[" + re.escape(_CLOSERS_CJK) + r"]*(?:\s*\[\d+\])*"
)


@dataclass(frozen=True)
class Sentence:
    """A sentence and its character span in the text it was split from."""

    text: str
    start: int
    end: int


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at ``dot`` closes an abbreviation or an initial."""
    if text[dot] != ".":
        return False
    j = dot
    while j > 0 and (text[j - 1].isalpha() or text[j - 1] == "."):
        j -= 1
    word = text[j:dot].lower()
    if len(word) == 1 and word.isalpha():  # initials: "J. Smith", "U.S."
        return True
    return word in _ABBREVIATIONS


def split_sentences(text: str, offset: int = 0) -> list[Sentence]:
    """Split ``text`` into sentences; spans are relative to ``offset``.

    Paragraph breaks always end a sentence. A period ends one unless it closes
    an abbreviation, or the next word starts lowercase (as in "3 p.m. local time").
    """
    sentences: list[Sentence] = []
    for para in re.finditer(r"[^\n]+", text):
        p_text, p_start = para.group(), para.start()
        cut = 0
        for m in _BOUNDARY.finditer(p_text):
            end = m.end()
            rest = p_text[end:].lstrip()
            if not rest:
                continue
            if re.sub(r"[\s\[\]\d]", "", m.group()).rstrip(_CLOSERS) == "." and _is_abbreviation(p_text, m.start()):
                continue
            if rest[0].islower():
                continue
            _append(sentences, p_text, cut, end, p_start + offset)
            cut = end
        _append(sentences, p_text, cut, len(p_text), p_start + offset)
    return sentences


def _append(out: list[Sentence], para: str, a: int, b: int, base: int) -> None:
    piece = para[a:b]
    stripped = piece.strip()
    if not stripped:
        return
    lead = len(piece) - len(piece.lstrip())
    start = base + a + lead
    out.append(Sentence(stripped, start, start + len(stripped)))


# Function words that carry no content for matching questions to sentences.
STOPWORDS = frozenset(
    """a an the and or but if then else of to in on at by for with from into onto over under
    about as is are was were be been being am do does did done doing have has had having
    this that these those there here it its it's they them their theirs he him his she her
    hers we us our you your i me my mine what which who whom whose when where why how
    can could would should will shall may might must not no nor so than too very just also
    any all each every some such only own same other more most much many few one's
    up down out off again further once s t d ll m re ve y
    according said says say tell told tells give gave given get got make made
    article articles report reported reports news story piece text passage
    happen happened happening thing things kind
    whats what's who's where's when's how's
    far yet still now currently already really actually ever even exactly
    reportedly allegedly apparently supposedly know known think
    """.split()
)

# A number with thousands separators ("2,000") is one word, so it matches "2000".
_WORD = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|[\w][\w'’\-.]*[\w]|[\w]")
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "dozens": 12,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100, "hundreds": 100,
    "thousand": 1000, "thousands": 1000, "million": 10**6, "millions": 10**6,
    "billion": 10**9, "billions": 10**9, "decade": 10, "decades": 10,
}


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer  # PyStemmer: the Snowball English stemmer, fast (C)
    except ImportError:  # pragma: no cover - PyStemmer is a declared dependency
        return None
    return Stemmer.Stemmer("english")


def _fold(text: str) -> str:
    """Lowercase, fold curly quotes and accents so "Tokayev’s" matches "Tokayev's"."""
    text = text.replace("’", "'").replace("‘", "'").lower()
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def _clean_token(tok: str) -> str:
    tok = tok.strip(".-'")
    if tok.endswith("'s"):
        tok = tok[:-2]
    if re.fullmatch(r"\d[\d,]*(\.\d+)?", tok):
        tok = tok.replace(",", "")
    return tok


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    stemmer = _stemmer()
    return stemmer.stemWord(word) if stemmer else word


def terms(text: str) -> list[str]:
    """All word tokens of ``text``: folded, stemmed, numbers without commas."""
    out = []
    for raw in _WORD.findall(_fold(text)):
        tok = _clean_token(raw)
        if not tok:
            continue
        # Hyphenated names ("Kassym-Jomart") also match their parts.
        parts = [tok] + ([p for p in tok.split("-") if p] if "-" in tok else [])
        out.extend(_stem(p) for p in parts)
    return out


def content_terms(text: str) -> list[str]:
    """Like :func:`terms`, without function words (compared before stemming)."""
    out = []
    for raw in _WORD.findall(_fold(text)):
        tok = _clean_token(raw)
        if not tok or tok in STOPWORDS:
            continue
        parts = [tok] + ([p for p in tok.split("-") if p and p not in STOPWORDS] if "-" in tok else [])
        out.extend(_stem(p) for p in parts)
    return out


_CAPITALISED = re.compile(r"[A-Z][\w'’]*(?:-[\w'’]+)*")


@lru_cache(maxsize=65536)  # each sentence is measured and checked for names, question after question
def acronyms(text: str) -> frozenset[str]:
    """The acronyms a text's capitalised names make, as terms: "the Russia-led Collective
    Security Treaty Organization" gives "csto" (and "rcsto", "cst", …), so a question about
    "the CSTO" finds the article that spells it out. Every run of two or more capitalised words
    counts, a function word inside it ("Department of Justice") taken or skipped; spelling
    out an acronym is how news introduces one, and nothing here knows any particular name."""
    out: set[str] = set()
    run: list[tuple[str, bool]] = []  # (initial, is a function word)
    for w in [*re.findall(r"[\w'’-]+|[^\w\s]", text), "."]:
        function = _fold(w) in STOPWORDS
        if _CAPITALISED.fullmatch(w) and not w.isupper() and not function:
            run.append((w[0].lower(), False))
            continue
        if function and w.islower() and run and not run[-1][1]:
            run.append((w[0], True))  # one function word may join two names
            continue
        while run and run[-1][1]:
            run.pop()  # a run ends with a name, not with "of"
        caps = [i for i, (_, fn) in enumerate(run) if not fn]
        for i, a in enumerate(caps):
            for b in caps[i + 1 :]:
                part = run[a : b + 1]
                out.add("".join(c for c, fn in part if not fn))
                out.add("".join(c for c, _ in part))
        run = []
    return frozenset(a for a in out if 2 <= len(a) <= 6)


def index_terms(text: str) -> list[str]:
    """The terms keyword search indexes and queries: :func:`terms` minus (stemmed) function words.

    Every store tokenises with this one function (handing engines the terms ready-made), so
    "2,000" stays one term "2000" whatever the engine's own analysers would do with it."""
    stop = _stemmed_stopwords()
    return [t for t in terms(text) if t not in stop]


@lru_cache(maxsize=1)
def _stemmed_stopwords() -> frozenset[str]:
    return frozenset(t for w in STOPWORDS for t in terms(w))


def numbers_in(text: str) -> set[str]:
    """Numbers written in ``text``, normalised ("2,000" -> "2000"), number words included."""
    found = set()
    for m in re.finditer(r"\d[\d,]*(?:\.\d+)?", text):
        found.add(m.group().rstrip(".,").replace(",", ""))
    for word in re.findall(r"[a-z]+", _fold(text)):
        if word in _NUMBER_WORDS:
            found.add(word)
    return found


def normalize_answer(text: str) -> str:
    """The normalisation answers are scored under.

    Lowercase; accents and curly quotes folded; thousands separators dropped
    ("2,000" -> "2000"); punctuation removed; the articles a/an/the dropped;
    whitespace collapsed.
    """
    text = _fold(text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"[^\w\s]", " ", text)
    words = [w for w in text.split() if w not in {"a", "an", "the"}]
    return " ".join(words)
