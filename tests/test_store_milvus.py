"""What the Milvus backend does beyond the store contract: Milvus's own hybrid search, the
in-progress marker of an interrupted commit, and rows too long for one Milvus field."""

from __future__ import annotations

import numpy as np
import pytest

from rag.dates import day_number
from rag.errors import IndexCorruptError
from rag.store import open_store
from rag.store.base import UNDATED, StoredArticle, Where
from rag.types import Article, Chunk

DIM = 8
TEXTS = {
    "a1": ["The zeppelin landed near the quay", "Police closed the harbour road"],
    "a2": ["Floods hit the river town", "The minister spoke of the budget and the zeppelin"],
    "a3": ["Kassym-Jomart Tokayev won 3.5 million votes", "A storm hit the coast"],
}
DAYS = {"a1": "2026-03-01", "a2": "2026-03-05", "a3": None}


def _items(texts=TEXTS):
    arts, chunks = [], []
    for doc, pieces in texts.items():
        text = ". ".join(pieces)
        arts.append(StoredArticle(Article(id=doc, title=doc, text=text, published=DAYS.get(doc)), f"d-{doc}", f"t-{doc}"))
        for j, piece in enumerate(pieces):
            start = text.index(piece)
            chunks.append(Chunk(f"{doc}-{j}", doc, piece, start, start + len(piece)))
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(len(chunks), DIM)).astype(np.float32)
    return arts, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def store(tmp_path):
    s = open_store(f"milvus:{tmp_path / 'store.db'}")
    arts, chunks, vectors = _items()
    with s.writing():
        s.upsert(arts, chunks, vectors)
        s.commit({"embedder": "fake"})
    s.vectors = dict(zip((c.id for c in chunks), vectors))
    yield s
    s.close()


def test_hybrid_puts_first_the_chunk_both_words_and_vector_point_at(store):
    hits = store.hybrid(store.vectors["a2-1"], "zeppelin budget", 4)
    assert hits[0].chunk_id == "a2-1" and hits[0].doc_id == "a2"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # The words alone point at a2-1 and a1-0, the vector at a1-0: fused, a1-0 comes first.
    assert store.hybrid(store.vectors["a1-0"], "zeppelin", 2)[0].chunk_id == "a1-0"


def test_hybrid_returns_only_allowed_chunks(store):
    q = store.vectors["a2-1"]
    assert {h.doc_id for h in store.hybrid(q, "zeppelin", 10, Where(articles=frozenset({"a1"})))} == {"a1"}
    dated = Where(last=day_number("2026-03-02"), undated=False)
    assert {h.chunk_id for h in store.hybrid(q, "zeppelin storm", 10, dated)} <= {"a1-0", "a1-1"}
    assert store.hybrid(q, "zeppelin", 10, Where(articles=frozenset())) == []
    # No index terms in the text: dense search alone.
    assert [h.chunk_id for h in store.hybrid(q, "the of and", 3)] == [h.chunk_id for h in store.dense(q, 3)]


def test_terms_with_hyphens_and_points_stay_whole(store):
    assert {h.chunk_id for h in store.lexical("Kassym-Jomart", 10)} == {"a3-0"}
    assert {h.chunk_id for h in store.lexical("3.5 million", 10)} == {"a3-0"}
    assert store.lexical("5", 10) == [] and store.lexical("jomart", 10)[0].chunk_id == "a3-0"
    assert store.doc_freq(["3.5", "kassym-jomart", "3"]) == (6, [1, 1, 0])


def test_an_interrupted_commit_is_reported_until_a_rebuild(store, monkeypatch):
    arts, chunks, vectors = _items({"a4": ["A new fire broke out"]})

    def die(*args, **kwargs):
        raise KeyboardInterrupt

    with store.writing():
        store.upsert(arts, chunks, vectors)
        monkeypatch.setattr(store.client, "insert", die)
        with pytest.raises(KeyboardInterrupt):
            store.commit({"embedder": "fake", "n": 4})
    monkeypatch.undo()
    with pytest.raises(IndexCorruptError, match="--rebuild --store milvus:"):
        store.manifest()
    assert any("interrupted" in p for p in store.stats().problems)
    with store.writing():
        store.clear()
        store.upsert(arts, chunks, vectors)
        store.commit({"embedder": "fake", "n": 1})
    assert store.manifest() == {"embedder": "fake", "n": 1} and store.stats(check=True).problems == []


def test_long_articles_and_manifests_span_several_rows(tmp_path):
    s = open_store(f"milvus:{tmp_path / 'long.db'}")
    text = "".join(f"Sentence {i} of a long article, with accents: é, ü, ✓. " for i in range(3000))
    art = Article(id="long", title="Long", text=text, url="https://example.org/x", source="Wire")
    chunk = Chunk("long-0", "long", text[:40], 0, 40)
    manifest = {"files": {f"/corpus/{i}.txt": [i, "x" * 20] for i in range(2000)}}
    with s.writing():
        s.upsert([StoredArticle(art, "d", "t", np.arange(128, dtype=np.uint32))], [chunk], np.ones((1, DIM)))
        s.commit(manifest)
    s.close()
    again = open_store(f"milvus:{tmp_path / 'long.db'}")
    assert again.articles(["long", "nope"]) == [art] and again.manifest() == manifest
    assert again.signatures()["long"].tolist() == list(range(128))
    assert again.catalogue()["long"].chunks == 1 and again.stats(check=True).problems == []
    with again.writing():  # a shorter manifest leaves none of the longer one's parts behind
        again.commit({"small": True})
    assert again.manifest() == {"small": True}
    again.close()


def test_where_filters_mean_what_where_allows(store):
    days = [None, day_number("2026-03-01"), day_number("2026-03-03"), day_number("2026-03-05")]
    q = store.vectors["a1-0"]
    for first in days:
        for last in days:
            for undated in (True, False):
                for arts in (None, frozenset({"a1", "a3"})):
                    where = Where(first, last, undated, arts)
                    want = {c for c in store.vectors if where.allows(day_number(DAYS[c[:2]]) or UNDATED, c[:2])}
                    assert {h.chunk_id for h in store.dense(q, 100, where)} == want, where


GOLD_QUESTIONS = ["How many people were arrested?", "Why did the protests start?", "Who is the president of Kazakhstan?",
                  "What did Russia send?", "Who won the 2030 World Cup?"]


@pytest.mark.slow
def test_the_assistant_answers_the_same_from_either_backend(tmp_path, embedder, seed_reader):
    """`rag index` and the answers above the store are the same code for both backends: the seed
    article indexed into SQLite and into Milvus Lite gives the same extractive answers, citing the
    same sentences, and `rag info` finds both healthy."""
    import json

    from click.testing import CliRunner
    from conftest import CORPUS, FakeLLM

    import rag
    from rag.cli import cli
    from rag.indexer import update_index

    answers = {}
    for name, spec in (("sqlite", str(tmp_path / "index")), ("milvus", f"milvus:{tmp_path / 'store.db'}")):
        report = update_index([CORPUS], spec, embedder)
        assert report.chunks > 0 and not report.issues
        info = CliRunner().invoke(cli, ["info", "--store", spec, "--json"])
        assert info.exit_code == 0, info.output
        assert json.loads(info.output)["chunks"] == report.chunks
        a = rag.Assistant.load(spec, embedder=embedder, llm=FakeLLM(), reader=seed_reader, mode="extractive", k=5)
        answers[name] = [(x.text, [(c.doc_id, c.start, c.end) for c in x.citations]) for x in map(a.ask, GOLD_QUESTIONS)]
        a.index.store.close()
    assert answers["milvus"] == answers["sqlite"]
    assert any(cites for _, cites in answers["sqlite"])  # the questions are answered, not only abstained on
