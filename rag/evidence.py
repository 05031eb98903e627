"""Find the sentences that answer a question, or decide that none does.

This is where abstention comes from: the evidence, not the model. Each sentence
of the retrieved passages is scored by how much of the question it covers
(exact stems, else close words by embedding), by its embedding similarity to
the question, and by whether it holds the kind of answer asked for (a number
for "how many", a time for "when"). If the best sentence covers too little, or
a named thing in the question appears nowhere in the passages, or a number or
time is asked for and none is there, the question is unanswerable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .embedder import Embedder
from .question import Question, name_groups
from .text import STOPWORDS, Sentence, _fold, content_terms, numbers_in, split_sentences
from .types import Article, Passage

__all__ = ["Evidence", "EvidenceResult", "EvidenceFinder"]

_TIME_WORDS = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|"
    r"july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
    r"yesterday|today|tonight|tomorrow|overnight|morning|afternoon|evening|night|weekend|"
    r"ago|earlier|later|recently|decades?|years?|months?|weeks?|days?|hours?|century|"
    r"(1[89]|20)\d\d|\d{1,2}:\d\d|[ap]\.?m\.?)\b"
)
_ATTRIBUTION = re.compile(
    r"\b(said|says|say|according to|claimed|claims|reported|reports|reportedly|citing|quoted|wrote|"
    r"told|stated|announced|alleged|accused|dubbed|called|calling|urged|vowed|warned|added|insisted)\b"
)
_CAUSAL = re.compile(r"\b(because|due to|after|over|amid|since|caused|sparked|triggered|arose|led to|so that|in order to|reason|blamed|anger)\b")
_LEADING_ANAPHOR = re.compile(r"^(he|she|they|it|his|her|their|its|this|that|these|those|but (he|she|they|his|her))\b", re.I)
# Counted things too generic to pin a number to ("how many people").
_WEAK_FOCUS = {"peopl", "person", "time"}
# Words that make a capitalised run an institution or place rather than a person.
_INSTITUTION_WORDS = {
    "TV", "News", "Agency", "Ministry", "Council", "Organization", "Organisation", "Federation", "Union",
    "Party", "Treaty", "Security", "Collective", "Asia", "Europe", "America", "Africa", "Capitol", "University",
    "Times", "Post", "Journal", "Press", "Department", "Office", "House", "Court", "Congress", "Senate",
    "Parliament", "Government", "Bank", "Company", "Group", "Association", "Committee", "Square", "Street",
    "City", "Republic", "Kingdom", "States", "Nations", "Army", "Force", "Forces", "Police", "Service",
}
_PERSON_ROLES = {
    "chief", "mayor", "presid", "minist", "spokesperson", "spokesman", "spokeswoman", "leader", "offici",
    "head", "governor", "senat", "king", "queen", "prime", "general", "command", "director", "ceo", "founder",
    "coach", "judg", "candid", "victim", "suspect", "man", "woman", "boy", "girl", "son", "daughter", "wife",
    "husband", "mother", "father", "blogger", "lawmak", "journalist", "report", "politician", "activist",
}
_NON_NAMES = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february",
    "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
}


@dataclass(frozen=True)
class Evidence:
    """A candidate answer sentence and why it scored as it did."""

    doc_id: str
    sentence: Sentence
    passage: Passage
    score: float
    coverage: float
    similarity: float
    type_ok: bool
    context: Sentence | None = None  # an earlier sentence its pronoun points to


@dataclass
class EvidenceResult:
    ranked: list[Evidence] = field(default_factory=list)
    answerable: bool = False
    reason: str = ""

    @property
    def best(self) -> Evidence | None:
        return self.ranked[0] if self.ranked else None


class EvidenceFinder:
    """Scores sentences of retrieved passages against a question.

    ``min_coverage`` is the weighted share of the question's terms a sentence
    must match, ``min_similarity`` the embedding similarity that admits a
    paraphrase instead; when no sentence reaches either, the assistant abstains.
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        min_coverage: float = 0.5,
        min_similarity: float = 0.56,
        soft_low: float = 0.45,
        soft_high: float = 0.72,
    ) -> None:
        self.embedder = embedder
        self.min_coverage = min_coverage
        self.min_similarity = min_similarity
        self.soft_low = soft_low
        self.soft_high = soft_high
        self._sentences: dict[tuple[str, int], list[Sentence]] = {}
        self._word_vectors: dict[str, np.ndarray] = {}
        self._sentence_vectors: dict[tuple[str, int, int], np.ndarray] = {}

    # -- sentences -------------------------------------------------------
    def sentences_of(self, article: Article) -> list[Sentence]:
        key = (article.id, len(article.text))
        if key not in self._sentences:
            if len(self._sentences) > 4096:
                self._sentences.clear()
            self._sentences[key] = split_sentences(article.text)
        return self._sentences[key]

    def _candidates(self, passages: Sequence[Passage], articles: dict[str, Article]) -> list[tuple[Sentence, Passage, int, Article]]:
        seen = set()
        out = []
        for rank, p in enumerate(passages):
            art = articles.get(p.chunk.doc_id)
            if art is None:
                continue
            for s in self.sentences_of(art):
                # Sentences that lie mostly inside the chunk belong to it.
                overlap = min(s.end, p.chunk.end) - max(s.start, p.chunk.start)
                if overlap <= 0 or overlap < 0.5 * (s.end - s.start):
                    continue
                key = (art.id, s.start)
                if key in seen:
                    continue
                seen.add(key)
                out.append((s, p, rank, art))
        return out

    # -- embeddings with caches -------------------------------------------
    def _embed_cached(self, cache: dict, keys: list, texts: list[str]) -> list[np.ndarray]:
        todo = [i for i, k in enumerate(keys) if k not in cache]
        if todo:
            if len(cache) > 50000:
                cache.clear()
            vecs = self.embedder.embed([texts[i] for i in todo])
            for i, v in zip(todo, vecs):
                cache[keys[i]] = v
        return [cache[k] for k in keys]

    # -- scoring ----------------------------------------------------------
    def find(
        self,
        question: Question,
        passages: Sequence[Passage],
        articles: dict[str, Article],
        query_vector: np.ndarray,
    ) -> EvidenceResult:
        cands = self._candidates(passages, articles)
        if not cands:
            return EvidenceResult(reason="nothing relevant was retrieved")
        missing = self._missing_entities(question, passages, articles)
        sent_vecs = self._embed_cached(
            self._sentence_vectors, [(a.id, s.start, s.end) for s, _, _, a in cands], [s.text for s, _, _, _ in cands]
        )
        sims = np.array([float(np.dot(v, query_vector)) for v in sent_vecs])
        matches = [self._exact_matches(question, s, art) for s, _, _, art in cands]
        prelim = [0.6 * _cover(question.weights, m) + 0.4 * sim for m, sim in zip(matches, sims)]
        # Soft word matching only where it can change the outcome: the most promising sentences.
        for i in np.argsort(-np.array(prelim), kind="stable")[:10]:
            self._add_soft_matches(question, matches[int(i)], cands[int(i)][0].text)
        ranked = []
        for i, (s, p, rank, art) in enumerate(cands):
            coverage = min(1.0, _cover(question.weights, matches[i]) + self._referent_bonus(question, s, art))
            type_ok = self._type_ok(question, s, art)
            score = 0.5 * coverage + 0.4 * sims[i] + 0.05 / (1 + rank) + (0.08 if type_ok else 0.0)
            ranked.append(Evidence(art.id, s, p, float(score), float(coverage), float(sims[i]), type_ok, self._antecedent(s, art)))
        ranked.sort(key=lambda e: -e.score)
        result = EvidenceResult(ranked=ranked)
        if missing:
            result.reason = f"the articles don't mention {', '.join(missing)}"
            return result
        topical = {t: w for t, w in question.weights.items() if t not in self._entity_stems(question)}
        # A sentence answers when it covers the question's words (its topical words
        # included, not just the names every sentence of the article shares), or
        # when its meaning is close even though the words differ (a paraphrase).
        good = [
            e for e in ranked
            if (
                e.coverage >= self.min_coverage
                and (not topical or _cover(topical, matches[_index_of(cands, e)]) >= 0.34)
            )
            or e.similarity >= self.min_similarity
        ]
        if not good:
            result.reason = "no passage covers the question"
            return result
        if question.hard_type:
            typed = [e for e in good[:4] if e.type_ok] or self._typed_neighbours(question, good[:3], articles)
            if not typed:
                result.reason = f"no passage gives the {question.qtype} asked for"
                return result
            # Promote the best sentence that has the asked-for kind of answer.
            result.ranked = typed + [e for e in ranked if e not in typed]
        else:
            result.ranked = good + [e for e in ranked if e not in good]
        result.answerable = True
        return result

    def _entity_stems(self, q: Question) -> set[str]:
        out: set[str] = set()
        for e in q.entities:
            out.update(content_terms(e))
        return out

    def _exact_matches(self, q: Question, s: Sentence, art: Article) -> dict[str, float]:
        """Per question term: 1 if in the sentence, 0.6 if only in its context (title, previous sentence)."""
        sent_terms = set(content_terms(s.text))
        context_terms = set(content_terms(art.title))
        ctx = self._antecedent(s, art) or self._previous(s, art)
        if ctx is not None:
            context_terms |= set(content_terms(ctx.text))
        out = {}
        for stem in q.weights:
            if stem in sent_terms or any(_prefix_match(stem, t) for t in sent_terms):
                out[stem] = 1.0
            elif stem in context_terms:
                out[stem] = 0.6
            else:
                out[stem] = 0.0
        return out

    def _referent_bonus(self, q: Question, s: Sentence, art: Article) -> float:
        if not q.referents:
            return 0.0
        terms_here = set(content_terms(s.text)) | set(content_terms(art.title))
        ctx = self._antecedent(s, art)
        if ctx is not None:
            terms_here |= set(content_terms(ctx.text))
        return 0.1 * min(1.0, sum(w for stem, w in q.referents.items() if stem in terms_here))

    def _word_similarity(self, words: list[str], others: list[str]) -> np.ndarray:
        """Cosine similarity matrix of single-word embeddings (cached per word)."""
        a = np.stack(self._embed_cached(self._word_vectors, words, words))
        b = np.stack(self._embed_cached(self._word_vectors, others, others))
        return a @ b.T

    def _add_soft_matches(self, q: Question, matches: dict[str, float], sentence: str) -> None:
        """Credit question words whose near-synonyms are in the sentence ("detained" ~ "arrested").

        A close word earns up to 0.85, so an exact match always counts more.
        """
        unmatched = [st for st, m in matches.items() if m < 0.6]
        if not unmatched:
            return
        words = _words(sentence)
        if not words:
            return
        best = self._word_similarity([q.surface.get(st, st) for st in unmatched], words).max(axis=1)
        span = self.soft_high - self.soft_low
        for st, b in zip(unmatched, best):
            soft = 0.85 * min(1.0, max(0.0, (float(b) - self.soft_low) / span))
            matches[st] = max(matches[st], soft)

    def _type_ok(self, q: Question, s: Sentence, art: Article) -> bool:
        text = s.text
        if q.qtype == "number":
            return self._number_ok(q, text)
        if q.qtype == "time":
            found = {m.group() for m in _TIME_WORDS.finditer(_fold(text))}
            asked = {m.group() for m in _TIME_WORDS.finditer(_fold(q.text))}
            return bool(found - asked)
        if q.qtype == "name":
            return self._name_ok(q, text, art)
        if q.qtype == "quote":  # what someone said or called something: a quotation answers it
            return bool(re.search(r"[“\"][^”\"]{2,}[”\"]", text))
        if q.qtype == "reason":
            return bool(_CAUSAL.search(_fold(text)))
        if q.qtype in ("person", "place"):
            return bool(self._names(q, text, art, person=False)) or (
                q.qtype == "person" and bool(_ATTRIBUTION.search(_fold(text)))
            )
        return True

    def _number_ok(self, q: Question, text: str) -> bool:
        """A number not in the question, attached to what is counted ("2,000 people")."""
        asked = numbers_in(q.text)
        tokens = re.findall(r"[\w][\w,.'’\-]*[\w]|\w", _fold(text))
        focus = [f for f in q.focus if f not in _WEAK_FOCUS]
        for i, tok in enumerate(tokens):
            nums = numbers_in(tok)
            if not nums or nums <= asked:
                continue
            if not focus:
                return True
            window = tokens[i + 1 : i + 6]
            if window[:2] in (["of", "whom"], ["of", "them"], ["of", "those"], ["of", "which"]):
                return True
            stems = [st for w in window for st in content_terms(w)]
            if any(f == st or _prefix_match(f, st) for f in focus for st in stems):
                return True
            words = [w for w in window if w not in STOPWORDS and w.isalpha()]
            if words and float(self._word_similarity([_surface(q, f) for f in focus], words).max()) >= 0.6:
                return True
        return False

    def _names(self, q: Question, text: str, art: Article, *, person: bool) -> list[tuple[int, str]]:
        """(token position, name) of the proper names in ``text`` that the question doesn't contain."""
        qstems = set(q.weights)
        surnames = self._surnames(art)
        out = []
        tokens = re.findall(r"[\w][\w'’\-]*", text)
        for group in name_groups(text):
            words = group.split()
            if set(content_terms(group)) <= qstems:
                continue
            if person:
                if any(w in _INSTITUTION_WORDS for w in words):
                    continue
                if len(words) == 1 and words[0] not in surnames:
                    continue
            pos = next((i for i, t in enumerate(tokens) if t.startswith(words[0])), 0)
            out.append((pos, group))
        return out

    def _surnames(self, art: Article) -> set[str]:
        key = ("surnames", art.id)
        if key not in self._sentences:
            names = {g.split()[-1] for g in name_groups(art.text) if len(g.split()) > 1}
            self._sentences[key] = names  # type: ignore[assignment]
        return self._sentences[key]  # type: ignore[return-value]

    def _name_ok(self, q: Question, text: str, art: Article) -> bool:
        """A proper name close to the thing whose name is asked ("the mayor, John Smith")."""
        person = any(f in _PERSON_ROLES or f.endswith(("er", "or", "ist")) for f in q.focus)
        names = self._names(q, text, art, person=person)
        if not names:
            return False
        if not q.focus:
            return True
        tokens = re.findall(r"[\w][\w'’\-]*", text)
        spots = [i for i, t in enumerate(tokens) if any(f == st or _prefix_match(f, st) for st in content_terms(t) for f in q.focus)]
        return any(abs(i - pos) <= 6 for i in spots for pos, _ in names)

    def _typed_neighbours(self, q: Question, top: list[Evidence], articles: dict[str, Article]) -> list[Evidence]:
        """A sentence right after a matching one that supplies the asked-for answer.

        "A foreign ministry spokesperson also responded…" followed by "“…,” Maria
        Zakharova wrote" names the spokesperson in the next sentence.
        """
        out = []
        for e in top:
            art = articles[e.doc_id]
            nxt = self._next(e.sentence, art)
            if nxt is None:
                continue
            if q.qtype == "name":
                ok = bool(q.focus) and self._name_ok(q, e.sentence.text, art) is False and any(
                    re.search(re.escape(name) + r"\s+(\w+)", nxt.text)
                    and _ATTRIBUTION.search(_fold(nxt.text[nxt.text.find(name) :][: len(name) + 20]))
                    for _, name in self._names(q, nxt.text, art, person=True)
                ) and any(f in set(content_terms(e.sentence.text)) for f in q.focus)
            else:
                ok = self._type_ok(q, nxt, art) and not self._type_ok(q, e.sentence, art) and q.qtype == "time"
            if ok:
                out.append(Evidence(e.doc_id, nxt, e.passage, e.score, e.coverage, e.similarity, True, e.sentence))
        return out

    def _missing_entities(self, q: Question, passages: Sequence[Passage], articles: dict[str, Article]) -> list[str]:
        """Named things in the question that no retrieved passage or its article's title mentions."""
        if not q.entities:
            return []
        have: set[str] = set()
        for p in passages:
            have.update(content_terms(p.chunk.text))
            art = articles.get(p.chunk.doc_id)
            if art is not None:
                have.update(content_terms(art.title))
        missing = []
        for e in q.entities:
            stems = content_terms(e)
            if stems and not all(st in have or any(_prefix_match(st, h) for h in have) for st in stems):
                missing.append(e)
        return missing

    def _previous(self, s: Sentence, art: Article) -> Sentence | None:
        sents = self.sentences_of(art)
        for i, other in enumerate(sents):
            if other.start == s.start:
                return sents[i - 1] if i > 0 else None
        return None

    def _next(self, s: Sentence, art: Article) -> Sentence | None:
        sents = self.sentences_of(art)
        for i, other in enumerate(sents):
            if other.start == s.start:
                return sents[i + 1] if i + 1 < len(sents) else None
        return None

    def _antecedent(self, s: Sentence, art: Article) -> Sentence | None:
        """The previous sentence when this one opens with a pronoun ("His decision…")."""
        if not _LEADING_ANAPHOR.match(s.text.lstrip("“\"‘'")):
            return None
        return self._previous(s, art)


def _cover(weights: dict[str, float], matches: dict[str, float]) -> float:
    total = sum(weights.values())
    return sum(w * matches.get(t, 0.0) for t, w in weights.items()) / total if total else 0.0


def _index_of(cands: list, e: Evidence) -> int:
    return next(i for i, c in enumerate(cands) if c[0].start == e.sentence.start and c[3].id == e.doc_id)


def _words(text: str) -> list[str]:
    return sorted({w for w in re.findall(r"[a-z][a-z'\-]+", _fold(text)) if w not in STOPWORDS and len(w) > 2})


def _surface(q: Question, stem: str) -> str:
    return q.surface.get(stem, stem)


def _prefix_match(a: str, b: str) -> bool:
    """Stems of one word family ("russia"/"russian", "kazakh"/"kazakhstan", "hack"/"hacker")."""
    short, long_ = sorted((a, b), key=len)
    if len(short) < 4:
        return False
    if long_.startswith(short):
        return True
    # Spelling variants share most of a long prefix ("belarusian"/"belarussian").
    common = len(os.path.commonprefix([a, b]))
    return common >= 6 and common >= 0.7 * len(short)


def has_attribution(text: str) -> bool:
    return bool(_ATTRIBUTION.search(_fold(text)))
