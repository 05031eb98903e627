"""rag.indexer / rag.store: incremental updates, deduplication, bad input, atomic writes, locks.

The store is read back here through `rag.store.open_store` and `rag.index.Index`, and its
vector files straight from disk (the rows SQLite records as live), so what is checked is
what a reader gets, not what the writer meant to write.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexCorruptError, IndexMissingError, RagError
from rag.index import Index
from rag.indexer import update_index
from rag.store import open_store
from rag.store.keywords import TermIndex
from rag.store.lock import writer_lock
from rag.types import Article, Chunk

FLOODS = """Floods hit the valley

Heavy rain caused the river to burst its banks on Thursday, flooding hundreds of homes in the valley.

Emergency crews evacuated residents overnight and the mayor declared a state of emergency.
"""

BUDGET = """Budget passes after long debate

Lawmakers approved the budget late on Wednesday after a fourteen-hour debate in parliament.

The finance minister said the plan would cut the deficit by a third within two years.
"""

ELECTION = """Mayor wins second term

The incumbent mayor of Riverton won a second term on Sunday with 61 percent of the vote.

Turnout was the highest in two decades, election officials said.
"""

VOLCANO = """Volcano erupts near fishing village

A volcano erupted on Tuesday, sending ash eight kilometres into the sky above a fishing village.

Geologists warned that lava flows could reach the harbour within days.
"""


def _long_article(last: str) -> str:
    """Title plus several paragraphs, each long enough to be its own chunk."""
    topics = ["railway", "harbour", "school", "hospital", "bridge"]
    paras = [
        " ".join(
            f"The {t} project entered phase {i} of its plan, and engineers checked section {i}{j}." for j in range(9)
        )
        for i, t in enumerate(topics)
    ]
    return "City infrastructure report\n\n" + "\n\n".join([*paras, last]) + "\n"


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "floods.txt").write_text(FLOODS, encoding="utf-8")
    (corpus / "budget.txt").write_text(BUDGET, encoding="utf-8")
    records = [
        {
            "id": "wire-1",
            "title": "Council approves new tram line",
            "text": "The city council approved a new tram line on Monday by 31 votes to 12, "
            "the council's spokesperson said.\n\nConstruction starts in 2023.",
            "published": "2022-01-09",
        },
        {"id": "wire-2", "title": "Volcano erupts", "text": VOLCANO.split("\n", 2)[2], "source": "Wire"},
    ]
    (corpus / "wire.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return corpus


@dataclass
class Stored:
    """One generation of a store as a reader sees it."""

    generation: int
    manifest: dict
    articles: dict[str, Article]
    chunks: list[Chunk]  # ordered by article, then position
    vectors: dict[str, np.ndarray]  # chunk id: its live vector row
    files: dict[str, dict[str, str]]  # vector file: {file name: sha256}, as SQLite records them


def _db_rows(index_dir: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(index_dir / "store.sqlite")) as db:
        return db.execute(sql).fetchall()


def _vector_files(index_dir: Path) -> dict[str, dict[str, str]]:
    return {n: json.loads(c) for n, c in _db_rows(index_dir, "SELECT name, checksums FROM vector_files ORDER BY name")}


def _file_keys(index_dir: Path, name: str) -> np.ndarray:
    return np.load(index_dir / "vectors" / f"{name}.keys.npy")


def _live_vectors(index_dir: Path) -> dict[str, np.ndarray]:
    """Every live chunk's vector, read from the recorded vector files (each live key in exactly one)."""
    id_of = dict(_db_rows(index_dir, "SELECT key, id FROM chunks"))
    out: dict[str, np.ndarray] = {}
    for name in _vector_files(index_dir):
        vectors = np.load(index_dir / "vectors" / f"{name}.npy")
        for key, row in zip(_file_keys(index_dir, name).tolist(), vectors):
            if key in id_of:
                assert id_of[key] not in out, f"chunk {id_of[key]} has two live vector rows"
                out[id_of[key]] = row
    return out


def _read(index_dir: Path) -> Stored:
    """The live generation, after an integrity check of all three engines."""
    store = open_store(index_dir)
    try:
        stats = store.stats(check=True)
        assert stats.healthy, stats.problems
        manifest = store.manifest()
        assert manifest is not None
        catalogue = store.catalogue()
        articles = {a.id: a for a in store.articles(list(catalogue))}
        ids = [i for (i,) in _db_rows(index_dir, "SELECT id FROM chunks ORDER BY doc_id, start")]
        chunks = store.chunks(ids)
        assert len(chunks) == len(ids) == sum(i.chunks for i in catalogue.values())
        order = {doc_id: n for n, doc_id in enumerate(catalogue)}
        chunks.sort(key=lambda c: (order[c.doc_id], c.start))
        data = Stored(stats.generation, manifest, articles, chunks, _live_vectors(index_dir), _vector_files(index_dir))
    finally:
        store.close()
    assert set(data.vectors) == {c.id for c in data.chunks}, "every live chunk has exactly one vector"
    return data


def _on_disk(index_dir: Path) -> set[str]:
    """The files in index/vectors/."""
    return {p.name for p in (index_dir / "vectors").iterdir()}


def _recorded(index_dir: Path) -> set[str]:
    return {f for checksums in _vector_files(index_dir).values() for f in checksums}


def _ids_by_path(data: Stored) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for art in data.articles.values():
        out.setdefault(Path(art.path).name, []).append(art.id)
    return out


def _chunks_of(data: Stored, doc_id: str) -> list[Chunk]:
    return [c for c in data.chunks if c.doc_id == doc_id]


def _vector_file(index_dir: Path, suffix: str = ".npy") -> Path:
    """The store's one vector file (``suffix`` ".npy" for the vectors, ".keys.npy" for the keys)."""
    (name,) = _vector_files(index_dir)
    return index_dir / "vectors" / f"{name}{suffix}"


def _files_state(index_dir: Path) -> dict[str, tuple[int, int]]:
    """(mtime, size) of every file of the store, but the lock file (rewritten by every writer)
    and SQLite's shared-memory index (touched by every reader)."""
    gc.collect()  # close the connections of stores nobody holds, as a finished process would
    return {
        str(p.relative_to(index_dir)): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in index_dir.rglob("*")
        if p.is_file() and p.name not in (".lock", "store.sqlite-shm")
    }


@pytest.fixture
def built(tmp_path, embedder):
    corpus = _corpus(tmp_path)
    index_dir = tmp_path / "index"
    report = update_index([corpus], index_dir, embedder)
    return corpus, index_dir, report


def test_first_build(built, embedder):
    corpus, index_dir, report = built
    data = _read(index_dir)
    assert report.articles == len(data.articles) == 4
    assert report.chunks == len(data.chunks)
    assert report.embedded == len(data.chunks) and report.reused == 0
    assert sorted(report.added) == sorted(data.articles)
    assert not report.issues and not report.removed and not report.updated
    vectors = np.array([data.vectors[c.id] for c in data.chunks])
    assert vectors.shape == (len(data.chunks), embedder.dim)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    for c in data.chunks:
        assert c.text == data.articles[c.doc_id].text[c.start : c.end]
    assert data.manifest["embedder"] == embedder.name
    assert data.manifest["roots"] == [str(corpus.resolve())]
    assert data.generation == 1 and len(data.files) == 1
    assert _on_disk(index_dir) == _recorded(index_dir)
    wire = data.articles["wire-1"]
    assert wire.title == "Council approves new tram line" and wire.published == "2022-01-09"


def test_rerun_without_changes_writes_nothing(built, embedder):
    corpus, index_dir, _ = built
    before = _files_state(index_dir)
    generation = _read(index_dir).generation

    report = update_index([corpus], index_dir, embedder)
    assert report.embedded == 0
    assert not report.added and not report.updated and not report.removed
    assert report.articles == 4
    assert _read(index_dir).generation == generation
    assert _files_state(index_dir) == before

    # With no paths the index rescans the roots it remembers.
    again = update_index([], index_dir, embedder)
    assert again.embedded == 0 and again.articles == 4
    assert _read(index_dir).generation == generation
    assert _files_state(index_dir) == before


def test_adding_a_file_embeds_only_its_chunks(built, embedder):
    corpus, index_dir, first = built
    old = _read(index_dir)
    (corpus / "election.txt").write_text(ELECTION, encoding="utf-8")

    report = update_index([corpus], index_dir, embedder)
    data = _read(index_dir)
    new_ids = _ids_by_path(data)["election.txt"]
    assert report.added == new_ids and len(new_ids) == 1
    new_chunks = _chunks_of(data, new_ids[0])
    assert report.embedded == len(new_chunks) > 0
    assert report.reused == len(old.chunks)
    assert report.articles == 5 and report.chunks == len(old.chunks) + len(new_chunks)
    assert data.generation == old.generation + 1
    # Reused vectors are carried over bit for bit.
    for chunk_id, vector in old.vectors.items():
        assert np.array_equal(data.vectors[chunk_id], vector)
    # The new article is searchable.
    hits = Index.load(index_dir, embedder).search("Riverton mayor second term vote", k=1)
    assert hits and hits[0].chunk.doc_id == new_ids[0]


def test_changing_a_file_replaces_its_chunks_and_reuses_the_rest(tmp_path, embedder):
    corpus = _corpus(tmp_path)
    (corpus / "report.txt").write_text(_long_article("The museum reopens next spring after repairs."), encoding="utf-8")
    index_dir = tmp_path / "index"
    update_index([corpus], index_dir, embedder)
    old = _read(index_dir)
    old_id = _ids_by_path(old)["report.txt"][0]
    old_chunks = _chunks_of(old, old_id)
    assert len(old_chunks) >= 4

    (corpus / "report.txt").write_text(
        _long_article("The stadium closes for good in the autumn, officials said."), encoding="utf-8"
    )
    report = update_index([corpus], index_dir, embedder)
    data = _read(index_dir)
    new_id = _ids_by_path(data)["report.txt"][0]
    assert new_id != old_id  # .txt ids come from the text
    assert report.added == [new_id] and report.removed == [old_id]
    assert old_id not in data.articles
    assert not _chunks_of(data, old_id), "old chunks must be gone"
    new_chunks = _chunks_of(data, new_id)
    assert any("stadium" in c.text for c in new_chunks)
    assert not any("museum" in c.text for c in data.chunks)
    # Only the changed paragraph is embedded again: unchanged chunk texts keep their vectors.
    assert 1 <= report.embedded < len(new_chunks)
    assert report.reused == len(data.chunks) - report.embedded
    old_vec = {c.text: old.vectors[c.id] for c in old.chunks}
    carried = [c for c in data.chunks if c.text in old_vec]
    assert len(carried) == len(data.chunks) - report.embedded
    for c in carried:
        assert np.array_equal(data.vectors[c.id], old_vec[c.text])
    for c in new_chunks:
        assert c.text == data.articles[new_id].text[c.start : c.end]


def test_changing_a_record_with_an_explicit_id_is_an_update(built, embedder):
    corpus, index_dir, _ = built
    lines = (corpus / "wire.jsonl").read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[0])
    rec["text"] = rec["text"].replace("31 votes", "34 votes")
    lines[0] = json.dumps(rec)
    (corpus / "wire.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = update_index([corpus], index_dir, embedder)
    assert report.updated == ["wire-1"]
    assert not report.added and not report.removed
    assert report.embedded >= 1
    data = _read(index_dir)
    text = data.articles["wire-1"].text
    assert "34 votes" in text and "31 votes" not in text
    assert all("31 votes" not in c.text for c in data.chunks)
    assert any("34 votes" in c.text for c in _chunks_of(data, "wire-1"))
    # The keyword index forgot the old wording too.
    store = open_store(index_dir)
    texts = [c.text for c in store.chunks([h.chunk_id for h in store.lexical("31 votes", 10)])]
    assert texts and all("31 votes" not in t for t in texts)


def test_deleting_a_file_removes_its_articles_and_chunks(built, embedder):
    corpus, index_dir, _ = built
    old = _read(index_dir)
    gone = _ids_by_path(old)["floods.txt"]
    gone_chunks = {c.id for doc_id in gone for c in _chunks_of(old, doc_id)}
    (corpus / "floods.txt").unlink()

    report = update_index([corpus], index_dir, embedder)
    data = _read(index_dir)
    assert report.removed == gone
    assert report.embedded == 0
    assert report.articles == 3
    for doc_id in gone:
        assert doc_id not in data.articles
        assert not _chunks_of(data, doc_id)
    assert not gone_chunks & set(data.vectors)
    assert str(corpus / "floods.txt") not in data.manifest["sources"]
    index = Index.load(index_dir, embedder)
    for method in ("dense", "lexical", "hybrid"):
        hits = index.search("river burst its banks flooding homes", k=5, method=method)
        assert all(h.chunk.doc_id not in gone for h in hits), method
        assert hits or method == "lexical"  # no other article has any of these words


def test_same_text_in_two_files_is_stored_once(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(FLOODS, encoding="utf-8")
    (corpus / "b.txt").write_text(FLOODS.replace("Floods hit the valley", "Valley flooded"), encoding="utf-8")
    (corpus / "c.txt").write_text(BUDGET, encoding="utf-8")
    report = update_index([corpus], tmp_path / "index", embedder)
    data = _read(tmp_path / "index")
    assert report.duplicates == 1
    assert report.articles == len(data.articles) == 2
    texts = [a.text for a in data.articles.values()]
    assert len(texts) == len(set(texts))
    assert len({c.text for c in data.chunks}) == len(data.chunks)


def test_bad_file_is_reported_and_the_rest_indexed(tmp_path, embedder):
    corpus = _corpus(tmp_path)
    bad = corpus / "latin1.txt"
    bad.write_bytes("Caf\xe9 closes\n\nThe caf\xe9 on the square closed on Monday.".encode("latin-1"))
    report = update_index([corpus], tmp_path / "index", embedder)
    assert report.articles == 4
    assert len(report.issues) == 1
    issue = report.issues[0]
    assert issue.path == str(bad.resolve())
    assert "UTF-8" in issue.reason
    assert str(bad.resolve()) in str(issue)
    data = _read(tmp_path / "index")
    assert len(data.articles) == 4
    assert all(Path(a.path).name != "latin1.txt" for a in data.articles.values())


def test_a_file_that_turns_bad_keeps_its_previous_articles(built, embedder):
    corpus, index_dir, _ = built
    old = _read(index_dir)
    kept = _ids_by_path(old)["budget.txt"]
    (corpus / "budget.txt").write_bytes(b"Budget\n\n\xff\xfe broken \xc3\x28 bytes")

    report = update_index([corpus], index_dir, embedder)
    data = _read(index_dir)
    assert report.issues and report.issues[0].path.endswith("budget.txt")
    assert any("budget.txt" in n and "kept" in n for n in report.notes), report.notes
    assert not report.removed
    for doc_id in kept:
        assert data.articles[doc_id] == old.articles[doc_id]
        assert [c.id for c in _chunks_of(data, doc_id)] == [c.id for c in _chunks_of(old, doc_id)]


def test_walk_follows_a_symlinked_folder_and_the_indexer_indexes_it(tmp_path, embedder):
    """One walker for loading and indexing: a linked folder is followed, each real folder once."""
    from rag import indexer, loaders

    corpus = _corpus(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "election.txt").write_text(ELECTION, encoding="utf-8")
    (corpus / "linked").symlink_to(elsewhere, target_is_directory=True)
    (corpus / "again").symlink_to(elsewhere, target_is_directory=True)  # the same folder twice
    (elsewhere / "loop").symlink_to(corpus, target_is_directory=True)  # and a loop back
    assert indexer.corpus_files is loaders.corpus_files
    files = loaders.corpus_files(corpus)
    assert [p.name for p in files].count("election.txt") == 1
    assert any(p.name == "election.txt" and p.parent.name in ("again", "linked") for p in files)
    assert [p for p in loaders.walk(corpus) if isinstance(p, Path)] == files

    report = update_index([corpus], tmp_path / "index", embedder)
    assert report.articles == 5 and not report.issues and report.duplicates == 0
    data = _read(tmp_path / "index")
    assert "election.txt" in _ids_by_path(data)
    assert {Path(a.path) for a in data.articles.values()} <= set(files) | {p.resolve() for p in files}
    hits = Index.load(tmp_path / "index", embedder).search("Riverton mayor second term vote", k=1)
    assert hits and "second term" in hits[0].chunk.text


def _crash(*_a, **_k):
    raise OSError(28, "No space left on device (simulated)")


def _half_written_vectors(folder, name, keys, vectors):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.npy").write_bytes(b"\x93NUMPY half a file")
    _crash()


def _die_before_keywords_commit(self, generation):
    _crash()


@pytest.mark.parametrize(
    "target, replacement",
    [
        ("rag.store.compaction.write_vectors", _half_written_vectors),
        ("rag.store.keywords.TermIndex.commit", _die_before_keywords_commit),
    ],
    ids=["writing-the-vector-file", "committing-the-keywords"],
)
def test_crash_while_writing_leaves_the_previous_index_answering(built, embedder, monkeypatch, target, replacement):
    corpus, index_dir, _ = built
    old = _read(index_dir)
    (corpus / "election.txt").write_text(ELECTION, encoding="utf-8")
    (corpus / "floods.txt").unlink()

    monkeypatch.setattr(target, replacement)
    with pytest.raises(OSError, match="simulated"):
        update_index([corpus], index_dir, embedder)
    monkeypatch.undo()

    data = _read(index_dir)  # checksums verified, all three engines agree
    assert data.generation == old.generation
    assert sorted(data.articles) == sorted(old.articles) and len(data.chunks) == len(old.chunks)
    index = Index.load(index_dir, embedder)
    assert not index.store.notes  # nothing to repair: the keyword index never moved
    for method in ("dense", "lexical", "hybrid"):
        hits = index.search("river burst its banks flooding homes", k=1, method=method)
        assert hits and "river to burst its banks" in hits[0].chunk.text, method
        assert all("Riverton" not in h.chunk.text for h in index.search("Riverton mayor", k=5, method=method))
    # The lock died with the failed writer, and the next run finishes the job and tidies up.
    report = update_index([corpus], index_dir, embedder)
    assert len(report.added) == 1 and len(report.removed) == 1
    data = _read(index_dir)
    assert data.generation == old.generation + 1 and len(data.articles) == 4
    assert _on_disk(index_dir) == _recorded(index_dir), "a half-written vector file is left behind"


def test_crash_between_the_keywords_commit_and_its_marker_rebuilds_them(built, embedder, monkeypatch):
    """Killed after tantivy committed but before its generation was recorded: no marker says which
    generation the keywords hold, so they are rebuilt from SQLite rather than trusted."""
    corpus, index_dir, _ = built
    old = _read(index_dir)
    (corpus / "election.txt").write_text(ELECTION, encoding="utf-8")

    def die(marker, generation):
        _crash()

    monkeypatch.setattr("rag.store.keywords._record", die)
    with pytest.raises(OSError, match="simulated"):
        update_index([corpus], index_dir, embedder)
    monkeypatch.undo()
    assert TermIndex(index_dir / "keywords").generation() is None

    index = Index.load(index_dir, embedder)
    assert all("Riverton" not in h.chunk.text for h in index.search("Riverton mayor second term", k=5, method="lexical"))
    assert any("keyword index" in n and "rebuilt" in n for n in index.store.notes), index.store.notes
    assert TermIndex(index_dir / "keywords").generation() == old.generation


def test_info_says_a_keyword_index_without_its_generation_is_mended_by_the_next_question(built, embedder):
    """An index from before the marker file (or a commit cut short) is a problem `rag info` names
    with what mends it, and the next search mends it."""
    _, index_dir, _ = built
    (index_dir / "keywords" / "generation.json").unlink()
    stats = open_store(index_dir).stats(check=True)
    assert not stats.healthy
    assert any("keyword index records no generation" in p and "next question" in p for p in stats.problems), stats.problems
    assert Index.load(index_dir, embedder).search("river burst its banks", k=1, method="lexical")
    stats = open_store(index_dir).stats(check=True)
    assert stats.healthy, stats.problems


def test_crash_after_the_keywords_commit_rebuilds_them_from_sqlite(built, embedder, monkeypatch, tmp_path):
    """Killed after tantivy committed the next generation but before SQLite did: SQLite (the truth)
    still holds the old one, and the keyword index is rebuilt from it, by a reader or a writer."""
    corpus, index_dir, _ = built
    old = _read(index_dir)
    (corpus / "election.txt").write_text(ELECTION, encoding="utf-8")
    real = TermIndex.commit

    def commit_then_die(self, generation):
        real(self, generation)
        _crash()

    monkeypatch.setattr(TermIndex, "commit", commit_then_die)
    with pytest.raises(OSError, match="simulated"):
        update_index([corpus], index_dir, embedder)
    monkeypatch.undo()
    assert TermIndex(index_dir / "keywords").generation() == old.generation + 1  # the crash landed there
    copy = tmp_path / "copy"
    shutil.copytree(index_dir, copy)

    # A reader: the old corpus, and no keyword hit for the chunks SQLite never recorded.
    index = Index.load(index_dir, embedder)
    assert index.generation == str(old.generation) and len(index.articles) == 4
    hits = index.search("Riverton mayor second term", k=5, method="lexical")
    assert all("Riverton" not in h.chunk.text for h in hits)
    assert any("keyword index" in n and "rebuilt" in n for n in index.store.notes), index.store.notes
    assert TermIndex(index_dir / "keywords").generation() == old.generation
    assert _read(index_dir).generation == old.generation
    top = index.search("river burst its banks flooding homes", k=1, method="lexical")
    assert top and "river to burst its banks" in top[0].chunk.text

    # A writer: repairs first, then adds the new article as if nothing had happened.
    report = update_index([corpus], copy, embedder)
    assert any("keyword index" in n and "rebuilt" in n for n in report.notes), report.notes
    assert len(report.added) == 1
    data = _read(copy)
    assert data.generation == old.generation + 1 and len(data.articles) == 5
    top = Index.load(copy, embedder).search("Riverton mayor second term", k=1, method="lexical")
    assert top and "second term" in top[0].chunk.text


def _flip_a_byte(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[-7] ^= 0xFF
    path.write_bytes(bytes(raw))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


@pytest.mark.parametrize("suffix", [".npy", ".keys.npy"])
@pytest.mark.parametrize("damage", [_flip_a_byte, _truncate], ids=["flipped", "truncated"])
def test_damaged_vectors_are_detected_and_rag_index_rebuilds_them(built, embedder, suffix, damage):
    import rag

    corpus, index_dir, _ = built
    path = _vector_file(index_dir, suffix)
    damage(path)
    with pytest.raises(IndexCorruptError, match=r"rag index --rebuild") as exc:
        Index.load(index_dir, embedder)
    assert path.name in str(exc.value)
    with pytest.raises(IndexCorruptError, match=r"rag index --rebuild"):
        rag.Assistant.load(index_dir, embedder=embedder)
    stats = open_store(index_dir).stats(check=True)
    assert not stats.healthy and any(path.name in p for p in stats.problems), stats.problems

    report = update_index([corpus], index_dir, embedder)
    assert any("unusable" in n and path.name in n for n in report.notes), report.notes
    data = _read(index_dir)
    assert len(data.articles) == 4 and report.embedded == len(data.chunks)  # nothing reused from the damage
    assert _on_disk(index_dir) == _recorded(index_dir)
    hits = Index.load(index_dir, embedder).search("river burst its banks flooding homes", k=1)
    assert hits and "river to burst its banks" in hits[0].chunk.text


def test_a_missing_vector_file_is_detected(built, embedder):
    _, index_dir, _ = built
    path = _vector_file(index_dir)
    path.unlink()
    with pytest.raises(IndexCorruptError, match=r"missing.*rag index --rebuild"):
        Index.load(index_dir, embedder)


@pytest.mark.parametrize("rebuild", [False, True])
def test_an_unreadable_database_is_an_error_with_the_fix_and_rag_index_rebuilds_it(built, embedder, rebuild):
    corpus, index_dir, _ = built
    db = index_dir / "store.sqlite"
    db.write_bytes(b"this is not an SQLite database, " * 200)
    for name in ("store.sqlite-wal", "store.sqlite-shm"):
        (index_dir / name).unlink(missing_ok=True)
    with pytest.raises(IndexCorruptError, match=r"rag index --rebuild") as exc:
        Index.load(index_dir, embedder)
    assert str(db) in str(exc.value) and "\n" not in str(exc.value)

    report = update_index([corpus], index_dir, embedder, rebuild=rebuild)
    assert report.articles == 4 and report.embedded == report.chunks
    assert any("unusable" in n for n in report.notes), report.notes
    data = _read(index_dir)
    assert len(data.articles) == 4 and data.generation == 1
    assert _on_disk(index_dir) == _recorded(index_dir)


def _garbage_meta(folder: Path) -> None:
    (folder / "meta.json").write_text("garbage")


def _zeroed_segments(folder: Path) -> None:
    for path in folder.iterdir():
        if path.suffix in (".idx", ".term"):
            path.write_bytes(b"\0" * 64)


@pytest.mark.parametrize("damage", [_garbage_meta, _zeroed_segments], ids=["meta", "segments"])
def test_a_damaged_keyword_index_is_rebuilt_from_sqlite(built, embedder, tmp_path, damage):
    """tantivy's index is derived from the chunk texts in SQLite: damaged, it is rebuilt, by the
    first reader or writer that opens it, not reported as a crash."""
    corpus, index_dir, _ = built
    damage(index_dir / "keywords")
    copy = tmp_path / "copy"
    shutil.copytree(index_dir, copy)
    assert not open_store(index_dir).stats(check=True).healthy

    index = Index.load(index_dir, embedder)
    hits = index.search("river burst its banks", k=1, method="lexical")
    assert hits and "river to burst its banks" in hits[0].chunk.text
    assert any("keyword index" in n and "unreadable" in n for n in index.store.notes), index.store.notes
    assert _read(index_dir).generation == 1

    report = update_index([corpus], copy, embedder)
    assert any("keyword index" in n and "unreadable" in n for n in report.notes), report.notes
    assert report.embedded == 0 and _read(copy).generation == 1


def test_missing_index(tmp_path, embedder):
    nothing = tmp_path / "nothing-here"
    with pytest.raises(IndexMissingError, match="rag index"):
        Index.load(nothing, embedder)
    store = open_store(nothing)
    assert store.manifest() is None and store.catalogue() == {} and store.stats().chunks == 0
    assert not nothing.exists(), "reading creates nothing"


def _old_format_index(folder: Path, roots: list[Path], segment_files: dict[str, bytes] | None = None) -> None:
    """An index folder as the segment store left it: CURRENT naming a generation whose manifest
    lists the corpus roots and one segment."""
    folder.mkdir(parents=True)
    (folder / "CURRENT").write_text("gen-000001\n")
    (folder / "gen-000001").mkdir()
    manifest = {"format_version": 2, "embedder": "sentence-transformers/all-MiniLM-L6-v2",
                "roots": [str(r.resolve()) for r in roots], "segments": [{"name": "seg-000001", "rows": 0}]}
    (folder / "gen-000001" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (folder / "seg-000001").mkdir()
    for name, data in (segment_files or {"chunks.jsonl": b""}).items():
        (folder / "seg-000001" / name).write_bytes(data)
    (folder / "gen-000000").mkdir()  # an older generation the old writer had not removed yet


def test_an_old_format_index_is_rebuilt_from_its_roots(tmp_path, embedder):
    corpus = _corpus(tmp_path)
    index_dir = tmp_path / "index"
    _old_format_index(index_dir, [corpus])

    # Not migrated yet: answering says what to run.
    with pytest.raises(RagError, match=r"rag index") as exc:
        Index.load(index_dir, embedder)
    assert "older format" in str(exc.value)

    report = update_index([], index_dir, embedder)  # no paths: the old index's roots
    assert any("old segment format" in n and "rebuilt" in n for n in report.notes), report.notes
    assert report.articles == 4 and sorted(report.added) == sorted(_read(index_dir).articles)
    assert not (index_dir / "CURRENT").exists()
    assert not [p.name for p in index_dir.iterdir() if p.name.startswith(("gen-", "seg-"))]
    data = _read(index_dir)
    assert data.manifest["roots"] == [str(corpus.resolve())] and data.generation == 1
    hits = Index.load(index_dir, embedder).search("river burst its banks flooding homes", k=1)
    assert hits and "river to burst its banks" in hits[0].chunk.text
    # And from then on it is an ordinary store.
    again = update_index([], index_dir, embedder)
    assert again.embedded == 0 and not again.notes


def test_migrating_takes_the_old_segments_vectors(tmp_path, embedder):
    """The old segments' vectors are taken by chunk text, so migrating embeds nothing already embedded."""
    corpus = _corpus(tmp_path)
    reference = tmp_path / "reference"
    update_index([corpus], reference, embedder)
    ref = _read(reference)
    (corpus / "election.txt").write_text(ELECTION, encoding="utf-8")  # new since the old index was built
    hashes = np.array(
        [int.from_bytes(hashlib.blake2b(c.text.encode("utf-8"), digest_size=8).digest(), "little") for c in ref.chunks],
        dtype=np.uint64,
    )
    segment = {}
    for name, array in (("hashes.npy", hashes), ("vectors.npy", np.array([ref.vectors[c.id] for c in ref.chunks]))):
        (tmp_path / name).unlink(missing_ok=True)
        np.save(tmp_path / name, array)
        segment[name] = (tmp_path / name).read_bytes()
    index_dir = tmp_path / "index"
    _old_format_index(index_dir, [corpus], segment)

    counting = _RenamedEmbedder(embedder, embedder.name)
    report = update_index([], index_dir, counting)
    data = _read(index_dir)
    election = _chunks_of(data, _ids_by_path(data)["election.txt"][0])
    assert counting.calls == report.embedded == len(election)
    for c in ref.chunks:
        assert np.array_equal(data.vectors[c.id], ref.vectors[c.id])
    assert not (index_dir / "CURRENT").exists() and not (index_dir / "seg-000001").exists()


class _RenamedEmbedder:
    """The real embedder under another name (as if the user switched models), counting what it embeds."""

    def __init__(self, inner, name: str) -> None:
        self._inner = inner
        self.name = name
        self.dim = inner.dim
        self.max_tokens = inner.max_tokens
        self.calls = 0

    def embed(self, texts, *, progress: bool = False):
        self.calls += len(texts)
        return self._inner.embed(texts, progress=progress)

    def count_tokens(self, texts):
        return self._inner.count_tokens(texts)


def test_index_from_another_embedder_is_rebuilt_not_mixed(built, embedder):
    corpus, index_dir, _ = built
    other = _RenamedEmbedder(embedder, "some/other-embedder")
    report = update_index([corpus], index_dir, other)
    data = _read(index_dir)
    assert any("rebuilding" in n and "some/other-embedder" in n for n in report.notes), report.notes
    assert report.embedded == len(data.chunks) == other.calls
    assert report.reused == 0
    assert data.manifest["embedder"] == "some/other-embedder"
    assert len(data.files) == 1  # nothing of the old embedder's vectors is kept
    # Loading it with the original embedder is refused rather than searching mixed vectors.
    with pytest.raises(RagError, match="rebuild"):
        Index.load(index_dir, embedder)


def test_writer_lock_names_its_holder(tmp_path):
    lock = tmp_path / "index" / ".lock"
    with writer_lock(lock):
        with pytest.raises(RagError, match=rf"another process is writing the index \(pid {os.getpid()}\b"):
            with writer_lock(lock, wait=False):
                pass  # pragma: no cover
        with pytest.raises(RagError, match=rf"pid {os.getpid()}\b"):
            with open_store(tmp_path / "index").writing(wait=False):
                pass  # pragma: no cover
    with writer_lock(lock, wait=False):  # released after the with block
        pass


def test_writer_lock_held_by_another_process(built, embedder):
    corpus, index_dir, _ = built
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from rag.store import open_store\n"
        "with open_store(Path(sys.argv[1])).writing():\n"
        "    print('locked', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(index_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        assert f'"pid": {proc.pid}' in (index_dir / ".lock").read_text()
        with pytest.raises(RagError, match=rf"pid {proc.pid}\b") as exc:
            with writer_lock(index_dir / ".lock", wait=False):
                pass  # pragma: no cover
        assert "another process is writing the index" in str(exc.value)
        # Readers are not held up by a writer.
        hits = Index.load(index_dir, embedder).search("river burst its banks flooding homes", k=1)
        assert hits and "river to burst its banks" in hits[0].chunk.text
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    with writer_lock(index_dir / ".lock", wait=False):  # the holder exited, so the lock is free
        pass


def test_a_second_writer_waits_for_the_first(built, embedder):
    corpus, index_dir, _ = built
    (corpus / "election.txt").write_text(ELECTION, encoding="utf-8")
    waited = threading.Event()
    holders: list[str] = []
    result: dict = {}

    def on_wait(holder: str) -> None:
        holders.append(holder)
        waited.set()

    def run() -> None:
        try:
            result["report"] = update_index([corpus], index_dir, embedder, on_wait=on_wait)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            result["error"] = exc

    with writer_lock(index_dir / ".lock"):
        worker = threading.Thread(target=run)
        worker.start()
        assert waited.wait(timeout=60), "the second writer never reported waiting"
        assert worker.is_alive()
        assert _read(index_dir).generation == 1  # it did not write while it waited
    worker.join(timeout=120)
    assert "error" not in result, result
    assert f"pid {os.getpid()}" in holders[0]
    assert len(result["report"].added) == 1
    assert _read(index_dir).generation == 2


def test_a_new_keyword_tokenizer_rebuilds_the_keywords_but_keeps_vectors(tmp_path, embedder, monkeypatch):
    import rag.store.keywords as keywords

    corpus = _corpus(tmp_path)
    index_dir = tmp_path / "index"
    monkeypatch.setattr(keywords, "TERMS_VERSION", keywords.TERMS_VERSION - 1)
    update_index([corpus], index_dir, embedder)
    monkeypatch.undo()
    old = _files_state(index_dir)
    copy = tmp_path / "copy"
    shutil.copytree(index_dir, copy)
    fresh = tmp_path / "fresh"
    update_index([corpus], fresh, embedder)

    # A writer: re-indexes the keywords from SQLite's texts, embeds nothing, commits nothing.
    report = update_index([corpus], index_dir, embedder)
    assert any("keyword index" in n and "rebuilt" in n for n in report.notes), report.notes
    data = _read(index_dir)  # the check: tantivy at SQLite's generation, with every chunk
    assert report.embedded == 0 and data.generation == 1
    now = _files_state(index_dir)
    vectors_before = {k: v for k, v in old.items() if k.startswith("vectors")}
    assert vectors_before and {k: v for k, v in now.items() if k.startswith("vectors")} == vectors_before
    _same_results(index_dir, fresh, embedder)

    # A reader does the same before its first keyword search.
    index = Index.load(copy, embedder)
    hits = index.search("river burst its banks", k=3, method="lexical")
    assert hits and "river to burst its banks" in hits[0].chunk.text
    assert any("keyword index" in n for n in index.store.notes), index.store.notes
    assert TermIndex(copy / "keywords").generation() == 1


def test_an_update_indexes_only_the_changed_terms_and_ranks_like_a_fresh_build(built, embedder, monkeypatch):
    import rag.store.keywords as keywords

    corpus, index_dir, _ = built
    (corpus / "floods.txt").write_text(FLOODS.replace("Thursday", "Friday") + "\nThe dam held.\n", encoding="utf-8")
    tokenized: list[str] = []
    real = keywords.index_terms
    monkeypatch.setattr(keywords, "index_terms", lambda text: tokenized.append(text) or real(text))
    update_index([corpus], index_dir, embedder)
    monkeypatch.undo()
    data = _read(index_dir)
    changed = {c.text for c in data.chunks if Path(data.articles[c.doc_id].path).name == "floods.txt"}
    assert changed and set(tokenized) == changed  # only the changed article's chunks were tokenised again
    assert len(data.files) == 2  # the old vector file, with floods.txt's rows left unused, and the new one
    fresh = corpus.parent / "fresh"
    update_index([corpus], fresh, embedder)
    updated, built_fresh = open_store(index_dir), open_store(fresh)
    for query in ("river burst its banks on Friday", "budget deficit", "tram line votes", "volcano ash harbour", "dam"):
        got, want = updated.lexical(query, 5), built_fresh.lexical(query, 5)
        assert got and [h.chunk_id for h in got] == [h.chunk_id for h in want], query  # scores: see _same_results
    # The live counts behind idf are exact all the same (deleted chunks are not counted).
    terms = ["river", "thursday", "friday", "dam"]
    assert updated.doc_freq(terms) == built_fresh.doc_freq(terms)


def test_a_large_index_searches_a_saved_hnsw_graph(built, embedder, monkeypatch):
    """From APPROXIMATE_FROM rows a vector file is written with an HNSW graph and searched through it
    (the threshold is lowered here so a small corpus crosses it); results match exact search."""
    import faiss

    import rag.store.vectors as vectors

    corpus, index_dir, _ = built
    assert not [p for p in _on_disk(index_dir) if p.endswith(".faiss")]
    monkeypatch.setattr(vectors, "APPROXIMATE_FROM", 3)
    (corpus / "election.txt").write_text(ELECTION, encoding="utf-8")
    update_index([corpus], index_dir, embedder, rebuild=True)
    data = _read(index_dir)  # the saved graph is covered by the recorded checksums
    ((name, checksums),) = data.files.items()
    assert f"{name}.faiss" in checksums and (index_dir / "vectors" / f"{name}.faiss").is_file()
    index = Index.load(index_dir, embedder)
    (part,) = index.store._mem().dense._parts
    assert isinstance(faiss.downcast_index(part.index.index), faiss.IndexHNSWFlat), "searched exactly, not through the graph"

    ids = [c.id for c in data.chunks]
    matrix = np.array([data.vectors[i] for i in ids])
    questions = ("Who won a second term as mayor?", "How high did the volcano's ash go?", "What did the budget cut?")
    for question in questions:
        q = embedder.embed([question])[0]
        exact = [ids[i] for i in np.argsort(-(matrix @ q), kind="stable")[:5]]
        got = [h.chunk_id for h in index.store.dense(q, 5)]
        assert got[0] == exact[0] and len(set(got) & set(exact)) >= 4, (question, got, exact)
    top = index.search("Who won a second term as mayor?", 1, method="dense")[0]
    assert "second term" in top.chunk.text

    # A damaged graph is detected like any vector file.
    _flip_a_byte(index_dir / "vectors" / f"{name}.faiss")
    with pytest.raises(IndexCorruptError, match=r"\.faiss.*rag index --rebuild"):
        Index.load(index_dir, embedder)


QUERIES = ("river burst its banks", "budget deficit cut", "tram line votes", "volcano ash harbour", "mayor second term")


def _same_results(index_dir: Path, fresh_dir: Path, embedder) -> None:
    """The updated index answers every query, by every method, like a fresh build: the same passages
    in the same order, and the same dense scores. (Keyword scores may differ a little: tantivy counts
    a replaced or deleted chunk in its BM25 statistics until it merges away the segment holding it.)"""
    assert sorted(c.id for c in _read(index_dir).chunks) == sorted(c.id for c in _read(fresh_dir).chunks)
    updated, fresh = Index.load(index_dir, embedder), Index.load(fresh_dir, embedder)
    for query in QUERIES:
        for method in ("dense", "lexical", "hybrid"):
            got, want = updated.search(query, 5, method=method), fresh.search(query, 5, method=method)
            assert [p.chunk.id for p in got] == [p.chunk.id for p in want], (query, method)
            if method == "dense":
                assert [p.score for p in got] == pytest.approx([p.score for p in want], abs=1e-5), query


def test_an_update_writes_only_the_changed_article(tmp_path, fp32_embedder):
    embedder = fp32_embedder
    corpus = _corpus(tmp_path)
    index_dir = tmp_path / "index"
    update_index([corpus], index_dir, embedder)
    first = _read(index_dir)
    ((base, base_checksums),) = first.files.items()
    before = {p: p.stat().st_mtime_ns for p in (index_dir / "vectors").iterdir()}
    old_wire = {c.id for c in _chunks_of(first, "wire-1")}
    lines = (corpus / "wire.jsonl").read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[0])
    rec["text"] += "\n\nThe first trams will run in 2026, the transport office said."
    (corpus / "wire.jsonl").write_text("\n".join([json.dumps(rec), *lines[1:]]) + "\n", encoding="utf-8")

    report = update_index([corpus], index_dir, embedder)
    assert report.updated == ["wire-1"] and report.embedded == 1
    data = _read(index_dir)
    assert list(data.files) == [base, f"vec-{data.generation:06d}"]
    assert data.files[base] == base_checksums
    assert {p: p.stat().st_mtime_ns for p in before} == before, "the old vector file is never rewritten"
    # The new file holds the changed article's chunks and nothing else.
    key_of = {i: k for k, i in _db_rows(index_dir, "SELECT key, id FROM chunks")}
    new_keys = set(_file_keys(index_dir, f"vec-{data.generation:06d}").tolist())
    assert new_keys == {key_of[c.id] for c in _chunks_of(data, "wire-1")}
    # The old file still holds wire-1's old rows, no longer live.
    assert len(set(_file_keys(index_dir, base).tolist()) - set(key_of.values())) == len(old_wire)
    assert "2026" in data.articles["wire-1"].text
    hits = Index.load(index_dir, embedder).search("When will the first trams run?", 1)
    assert hits[0].chunk.doc_id == "wire-1" and "2026" in hits[0].chunk.text

    update_index([corpus], tmp_path / "fresh", embedder)
    _same_results(index_dir, tmp_path / "fresh", embedder)


def test_a_changed_jsonl_file_is_read_only_where_it_changed_and_ends_as_a_fresh_build(tmp_path, fp32_embedder):
    """Unchanged lines of a changed JSON Lines file are not parsed again (their hash is in the
    manifest), yet the index, the order of articles included, is what a fresh build gives."""
    embedder = fp32_embedder
    corpus = _corpus(tmp_path)
    index_dir = tmp_path / "index"
    update_index([corpus], index_dir, embedder)
    feed = corpus / "wire.jsonl"
    lines = feed.read_text(encoding="utf-8").splitlines()
    records = _read(index_dir).manifest["sources"][str(feed.resolve())]["records"]
    assert set(records) == {"wire-1", "wire-2"}
    added = json.dumps({"id": "wire-0", "title": "Harbour reopens", "text": "The harbour reopened on Friday after repairs."})
    changed = json.loads(lines[1])
    changed["text"] += "\n\nAsh fell on two villages, officials said."
    feed.write_text("\n".join([added, lines[0], json.dumps(changed)]) + "\n", encoding="utf-8")

    report = update_index([corpus], index_dir, embedder)
    assert report.added == ["wire-0"] and report.updated == ["wire-2"] and report.removed == []
    fresh = tmp_path / "fresh"
    update_index([corpus], fresh, embedder)
    got, want = _read(index_dir), _read(fresh)
    assert got.manifest["sources"] == want.manifest["sources"]
    assert list(got.manifest["sources"][str(feed.resolve())]["articles"]) == ["wire-0", "wire-1", "wire-2"]
    assert got.articles == want.articles
    _same_results(index_dir, fresh, embedder)

    # A line that is removed takes its article with it; the lines kept are still not parsed.
    feed.write_text("\n".join([added, json.dumps(changed)]) + "\n", encoding="utf-8")
    assert update_index([corpus], index_dir, embedder).removed == ["wire-1"]
    assert set(_read(index_dir).manifest["sources"][str(feed.resolve())]["records"]) == {"wire-0", "wire-2"}


def test_vector_files_are_merged_back_when_they_pile_up(tmp_path, fp32_embedder, monkeypatch):
    import rag.store.sqlite_write as sqlite_store

    embedder = fp32_embedder
    corpus = _corpus(tmp_path)
    index_dir = tmp_path / "index"
    update_index([corpus], index_dir, embedder)
    monkeypatch.setattr(sqlite_store, "MAX_FILES", 3)
    monkeypatch.setattr(sqlite_store, "MAX_STALE", 0.9)
    articles = [ELECTION, VOLCANO.replace("Tuesday", "Friday"), _long_article("The pier reopens in May.")]
    counts = []
    for i, text in enumerate(articles * 2):
        (corpus / f"extra-{i}.txt").write_text(text.replace("\n\n", f"\n\nUpdate {i}.\n\n", 1), encoding="utf-8")
        if i % 2:
            (corpus / f"extra-{i - 1}.txt").unlink()
        report = update_index([corpus], index_dir, embedder)
        assert report.embedded < report.chunks  # merging copies vectors; it never embeds them again
        counts.append(len(_read(index_dir).files))
        assert _on_disk(index_dir) == _recorded(index_dir), "a merged-away file is left behind"
    assert max(counts) == 3 and counts[-1] <= 3 and counts != sorted(counts), counts
    update_index([corpus], tmp_path / "fresh", embedder)
    _same_results(index_dir, tmp_path / "fresh", embedder)

    # Once enough rows are replaced or deleted, everything is rewritten into one file.
    monkeypatch.setattr(sqlite_store, "MAX_STALE", 0.1)
    (corpus / "budget.txt").unlink()
    (corpus / "floods.txt").unlink()
    report = update_index([corpus], index_dir, embedder)
    assert report.embedded == 0
    data = _read(index_dir)
    ((name, _),) = data.files.items()
    assert len(_file_keys(index_dir, name)) == len(data.chunks), "the merged file keeps only live rows"
    assert _on_disk(index_dir) == _recorded(index_dir)
    fresh = tmp_path / "fresh2"
    update_index([corpus], fresh, embedder)
    _same_results(index_dir, fresh, embedder)


@pytest.mark.parametrize("moment", ["verifying", "loading-vectors"])
def test_a_reader_racing_a_writer_reads_one_generation(built, embedder, monkeypatch, moment):
    """A writer that commits, merging vector files so the old one is deleted, while a reader is
    between listing the files and reading them: the reader goes round again at the new generation."""
    import rag.store.sqlite as sqlite_store
    import rag.store.sqlite_write
    import rag.store.vectors

    corpus, index_dir, _ = built
    old = _read(index_dir)
    (corpus / "floods.txt").unlink()
    raced: list[int] = []

    def race(real):
        def wrapper(*args, **kwargs):
            if not raced:  # the writer runs to completion while this reader is mid-read
                raced.append(1)
                with monkeypatch.context() as m:
                    m.setattr(rag.store.sqlite_write, "MAX_STALE", 0.0)  # merge, so the reader's file goes
                    update_index([corpus], index_dir, embedder)
                assert not set(old.files) & _on_disk_names(index_dir)
            return real(*args, **kwargs)

        return wrapper

    if moment == "verifying":
        monkeypatch.setattr(rag.store.vectors, "sha256_file", race(rag.store.vectors.sha256_file))
        index = Index.load(index_dir, embedder)
    else:
        index = Index.load(index_dir, embedder)
        monkeypatch.setattr(sqlite_store, "DenseSearch", race(sqlite_store.DenseSearch))
    hits = index.search("river burst its banks flooding homes", k=5, method="dense")
    assert raced
    new = _read(index_dir)
    assert new.generation == old.generation + 1 and len(new.articles) == 3
    assert hits and {h.chunk.id for h in hits} <= {c.id for c in new.chunks}
    assert len(index.store._mem().keys) == len(new.chunks)
    if moment == "verifying":
        assert len(index.articles) == 3 and index.generation == str(new.generation)


def _on_disk_names(index_dir: Path) -> set[str]:
    return {p.name.split(".")[0] for p in (index_dir / "vectors").iterdir()}


def test_an_article_added_by_another_writer_waits_for_the_reload(built, embedder, seed_reader):
    """The store is read live but a loaded index knows the articles it loaded: an article another
    process adds meanwhile is not retrieved (its title, date and story are unknown) until the
    assistant reloads, and asking in between answers rather than failing."""
    import rag

    corpus, index_dir, _ = built
    assistant = rag.Assistant.load(index_dir, embedder=embedder, reader=seed_reader, mode="extractive")
    before = assistant.index
    (corpus / "election.txt").write_text(ELECTION, encoding="utf-8")
    (new_id,) = update_index([corpus], index_dir, embedder).added
    question = "What share of the vote did the Riverton mayor win?"
    hits = before.search("Riverton mayor second term vote 61 percent", k=5, method="lexical")
    assert hits and all(h.chunk.doc_id in before.articles for h in hits)
    assert new_id not in {h.chunk.doc_id for h in hits}
    meanwhile = assistant.ask(question)
    assert "61 percent" not in meanwhile.text
    assistant.reload()
    assert "61 percent" in assistant.ask(question).text
