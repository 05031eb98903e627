"""Features: numbers describing how well a sentence, or a span in it, answers a question.

Nothing here decides anything. Each feature is a plain measurement (embedding
similarity, weighted term coverage, retrieval rank, age against ``as_of``,
how many articles repeat a span…); the weights that turn them into a score
are fitted on gold data by `rag.answer.fit` and applied by `rag.answer.score`.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..text import acronyms, content_terms
from ..types import Article
from .candidates import SentenceCandidate, SpanCandidate
from .question import Question

__all__ = [
    "SENTENCE_FEATURES", "SPAN_FEATURES", "SpanGroup", "sentence_features", "span_groups", "span_features", "term_match",
    "terms_found",
]

SENTENCE_FEATURES = (
    "similarity",  # cosine of question and sentence embeddings
    "coverage",  # idf-weighted share of the question's terms in the sentence
    "context_coverage",  # the same, counting the title and the previous sentence too
    "entity_coverage",  # share of the question's named things in the sentence, its context or title
    "novelty",  # share of the sentence's terms the question does not already hold
    "rank",  # 1 / (1 + rank of its passage)
    "passage_score",  # the passage's fused retrieval score
    "age",  # log(1 + days between publication and as_of); 0 when undated
    "undated",
    "staleness",  # log(1 + days older than the pool's newest article); 0 when undated
    "lead",  # 1 / (1 + position in the article)
    "is_question",  # the sentence is itself a question
    "length",  # log of its word count
    "copies",  # log(1 + other articles printing the same sentence)
    "similarity_gap",  # how far below the pool's most similar sentence
    "coverage_gap",  # how far below the pool's best coverage
    "title_similarity",  # cosine of the question and the article's title
    "core_similarity",  # cosine of the asking clause alone ("how many people were arrested?") and the sentence
)

SPAN_FEATURES = (
    "sentence_score",  # the fitted sentence model's logit for the best sentence holding the span
    "label_prior",  # log-odds that an answer to this class of question has this entity label
    "focus_similarity",  # cosine of the span and the noun the question asks about
    "in_question",  # share of the span's terms already in the question
    "support",  # articles (stories counted once) whose relevant sentences hold the span
    "mentions",  # log(1 + sentences holding the span)
    "nearness",  # 1 / (1 + words between the span and the nearest question term)
    "in_title",  # the span appears in a retrieved article's title
    "words",  # the span's word count
    "focus_label",  # cosine of the asked-about noun and spaCy's description of the span's label
    "support_share",  # its support over the best-supported span's
    "noun_phrase",  # the span is a noun phrase, not a named entity
    "dateline",  # the span opens its sentence as a dateline does ("WASHINGTON —", "PARIS (AP)")
    "focus_nearness",  # 1 / (1 + words to the asked-about noun in the sentence), 0 when absent
    "local_coverage",  # idf-weighted share of the question's terms within five words of the span
    "attached_similarity",  # cosine of the asked-about noun and the noun the span belongs to
)


def _prefix_match(a: str, b: str) -> bool:
    """Stems of one word family ("russia"/"russian", "kazakh"/"kazakhstan")."""
    short, long_ = sorted((a, b), key=len)
    if len(short) < 4:
        return False
    if long_.startswith(short):
        return True
    common = len(os.path.commonprefix([a, b]))
    return common >= 6 and common >= 0.7 * len(short)


def term_match(stem: str, terms: set[str]) -> bool:
    return stem in terms or any(_prefix_match(stem, t) for t in terms)


def terms_found(stems: Iterable[str], terms: set[str]) -> bool:
    """Whether every one of ``stems`` is matched among ``terms`` (`term_match`); True for none."""
    return all(term_match(s, terms) for s in stems)


def _coverage(weights: dict[str, float], terms: set[str]) -> float:
    total = sum(weights.values())
    if not total:
        return 0.0
    return sum(w for s, w in weights.items() if term_match(s, terms)) / total


def _days_old(article: Article, as_of: int | None) -> int | None:
    from ..dates import day_number

    day = day_number(article.published)
    if day is None or as_of is None:
        return None
    return max(0, as_of - day)


def sentence_features(
    q: Question,
    qvec: np.ndarray,
    cands: Sequence[SentenceCandidate],
    vectors: np.ndarray,
    articles: dict[str, Article],
    as_of: int | None,
    title_vectors: np.ndarray,
    core_vector: np.ndarray | None = None,
) -> np.ndarray:
    """One row of `SENTENCE_FEATURES` per candidate; ``vectors`` are the candidates' embeddings,
    ``title_vectors`` their articles' titles' and ``core_vector`` the asking clause's."""
    q_terms = set(q.weights)
    ent_stems = [set(content_terms(e)) for e in q.entities]
    rows = []
    days: list[int | None] = []
    sims = vectors @ qvec if len(cands) else np.zeros(0)
    title_sims = title_vectors @ qvec if len(cands) else np.zeros(0)
    core_sims = vectors @ core_vector if len(cands) and core_vector is not None else sims
    for c, sim, tsim, csim in zip(cands, sims, title_sims, core_sims):
        art = articles[c.doc_id]
        s_terms = set(content_terms(c.text))
        # A question's "CSTO" is found where the sentence spells it out (`acronyms`).
        found = s_terms | acronyms(c.text)
        ctx_terms = found | set(content_terms(art.title)) | (set(content_terms(c.context.text)) if c.context else set())
        ent = 1.0 if not ent_stems else sum(terms_found(e, ctx_terms) for e in ent_stems) / len(ent_stems)
        novel = len([t for t in s_terms if not term_match(t, q_terms)]) / max(1, len(s_terms))
        days.append(_days_old(art, as_of))
        words = len(c.text.split())
        rows.append(
            (
                float(sim),
                _coverage(q.weights, found),
                _coverage(q.weights, ctx_terms),
                ent,
                novel,
                1.0 / (1 + c.rank),
                float(c.passage.score),
                0.0 if days[-1] is None else math.log1p(days[-1]),
                float(days[-1] is None),
                0.0,
                1.0 / (1 + c.position),
                float(c.text.rstrip("”\"' ").endswith("?")),
                math.log(max(1, words)),
                math.log1p(len(c.also_in)),
                0.0,
                0.0,
                float(tsim),
                float(csim),
            )
        )
    x = np.array(rows, dtype=np.float32).reshape(len(rows), len(SENTENCE_FEATURES))
    if len(x):
        col = SENTENCE_FEATURES.index
        x[:, col("similarity_gap")] = x[:, col("similarity")].max() - x[:, col("similarity")]
        x[:, col("coverage_gap")] = x[:, col("coverage")].max() - x[:, col("coverage")]
        dated = [d for d in days if d is not None]
        newest = min(dated) if dated else 0
        # Relative to the pool: how much staler than the newest report, whatever the corpus's era.
        x[:, col("staleness")] = [0.0 if d is None else math.log1p(d - newest) for d in days]
    return x


@dataclass
class SpanGroup:
    """All mentions of one short answer (spans with the same normalised text)."""

    key: str
    label: str
    spans: list[SpanCandidate]
    best: SpanCandidate  # the mention in the highest-scoring sentence


def span_groups(spans: Sequence[SpanCandidate], sentence_scores: np.ndarray) -> list[SpanGroup]:
    groups: dict[str, list[SpanCandidate]] = defaultdict(list)
    for s in spans:
        groups[s.key].append(s)
    out = []
    for key, members in groups.items():
        best = max(members, key=lambda s: sentence_scores[s.sentence])
        labels = defaultdict(int)
        for m in members:
            labels[m.label] += 1
        out.append(SpanGroup(key, max(labels, key=labels.get), members, best))
    return out


def _around(sentence: str, span: SpanCandidate) -> list[tuple[int, list[str]]]:
    """(distance in words, stems) of each word of the sentence outside the span."""
    before = sentence[: span.start].split()
    after = sentence[span.end :].split()
    return [(i, content_terms(w)) for i, w in enumerate(reversed(before))] + [(i, content_terms(w)) for i, w in enumerate(after)]


def _nearness(terms: set[str], around: list[tuple[int, list[str]]]) -> float:
    """1 / (1 + words between the span and the closest word of ``terms``; 0 when none is there)."""
    dists = [d for d, stems in around if stems and any(term_match(s, terms) for s in stems)]
    return 1.0 / (1 + min(dists)) if dists else 0.0


def _local_coverage(q: Question, around: list[tuple[int, list[str]]], window: int = 5) -> float:
    near = {s for d, stems in around if d < window for s in stems}
    return _coverage(q.weights, near)


def _dateline(sentence: str, span: SpanCandidate) -> float:
    if span.start > 1:
        return 0.0
    rest = sentence[span.end : span.end + 6].lstrip(" ,")
    return float(span.text.isupper() or rest[:1] in ("—", "–", "-", "(", ":"))


def span_features(
    q: Question,
    groups: Sequence[SpanGroup],
    cands: Sequence[SentenceCandidate],
    sentence_scores: np.ndarray,
    label_prior: Callable[[str, str], float],
    focus_similarity: Callable[[list[str]], np.ndarray],
    articles: dict[str, Article],
) -> np.ndarray:
    """One row of `SPAN_FEATURES` per group. ``sentence_scores`` are the sentence model's logits;
    ``focus_similarity`` maps texts to their cosine with the question's focus."""
    from .candidates import NOUN_CHUNK
    from .nlp import gloss

    q_terms = set(q.weights)
    focus_terms = set(content_terms(q.focus.split()[-1])) if q.focus else set()
    titles = [content_terms(articles[c.doc_id].title) for c in cands]
    relevance = 1.0 / (1.0 + np.exp(-sentence_scores))
    focus = focus_similarity([g.best.text for g in groups]) if q.focus and groups else np.zeros(len(groups))
    labels = sorted({g.label for g in groups if g.label != NOUN_CHUNK})
    by_label = dict(zip(labels, focus_similarity([gloss(x) for x in labels]))) if q.focus and labels else {}
    nouns = sorted({m.attached for g in groups for m in g.spans if m.attached})
    by_noun = dict(zip(nouns, focus_similarity(nouns))) if q.focus and nouns else {}
    rows = []
    for g, fsim in zip(groups, focus):
        stems = content_terms(g.best.text)
        in_q = sum(term_match(s, q_terms) for s in stems) / max(1, len(stems))
        per_story: dict[str, float] = {}
        for m in g.spans:
            c = cands[m.sentence]
            for doc in [c.doc_id, *c.also_in]:
                per_story[doc] = max(per_story.get(doc, 0.0), float(relevance[m.sentence]))
        in_title = float(any(stems and set(stems) <= set(t) for t in titles))
        arounds = [(m, _around(cands[m.sentence].text, m)) for m in g.spans]
        rows.append(
            (
                float(sentence_scores[g.best.sentence]),
                label_prior(q.answer_class, g.label),
                float(fsim),
                in_q,
                math.log1p(sum(per_story.values())),
                math.log1p(len(g.spans)),
                max(_nearness(q_terms, a) for _, a in arounds),
                in_title,
                float(len(g.best.text.split())),
                float(by_label.get(g.label, 0.0)),
                0.0,
                float(g.label == NOUN_CHUNK),
                min(_dateline(cands[m.sentence].text, m) for m in g.spans),
                max(_nearness(focus_terms, a) for _, a in arounds) if focus_terms else 0.0,
                max(_local_coverage(q, a) for _, a in arounds),
                max((float(by_noun.get(m.attached, 0.0)) for m in g.spans), default=0.0),
            )
        )
    x = np.array(rows, dtype=np.float32).reshape(len(rows), len(SPAN_FEATURES))
    if len(x):
        col = SPAN_FEATURES.index
        x[:, col("support_share")] = x[:, col("support")] / max(float(x[:, col("support")].max()), 1e-6)
    return x
