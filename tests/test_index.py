"""rag.indexer / rag.store: incremental updates, deduplication, bad input, atomic writes, locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexCorruptError, IndexMissingError, RagError
from rag.index import Index
from rag.indexer import update_index
from rag.retrieval.lexical import BM25Index, Postings
from rag.store import current_generation, read_generation, read_manifest, writer_lock

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


def _ids_by_path(data) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for art in data.articles.values():
        out.setdefault(Path(art.path).name, []).append(art.id)
    return out


def _chunks_of(data, doc_id: str):
    return [c for c in data.chunks if c.doc_id == doc_id]


def _segment(index_dir: Path) -> Path:
    """The folder of the live index's newest segment."""
    return index_dir / read_manifest(index_dir)["segments"][-1]["name"]


def _gen_dirs(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.is_dir())


@pytest.fixture
def built(tmp_path, embedder):
    corpus = _corpus(tmp_path)
    index_dir = tmp_path / "index"
    report = update_index([corpus], index_dir, embedder)
    return corpus, index_dir, report


def test_first_build(built, embedder):
    corpus, index_dir, report = built
    data = read_generation(index_dir)
    assert report.articles == len(data.articles) == 4
    assert report.chunks == len(data.chunks)
    assert report.embedded == len(data.chunks) and report.reused == 0
    assert sorted(report.added) == sorted(data.articles)
    assert not report.issues and not report.removed and not report.updated
    assert data.vectors.shape == (len(data.chunks), embedder.dim)
    assert data.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(data.vectors, axis=1), 1.0, atol=1e-4)
    for c in data.chunks:
        assert c.text == data.articles[c.doc_id].text[c.start : c.end]
    assert data.manifest["embedder"] == embedder.name
    assert data.manifest["roots"] == [str(corpus.resolve())]
    wire = data.articles["wire-1"]
    assert wire.title == "Council approves new tram line" and wire.published == "2022-01-09"


def test_rerun_without_changes_writes_nothing(built, embedder):
    corpus, index_dir, _ = built
    gen = current_generation(index_dir)
    before = {p: p.stat().st_mtime_ns for p in gen.rglob("*")}
    dirs = _gen_dirs(index_dir)
    pointer = (index_dir / "CURRENT").read_text()

    report = update_index([corpus], index_dir, embedder)
    assert report.embedded == 0
    assert not report.added and not report.updated and not report.removed
    assert report.articles == 4
    assert current_generation(index_dir) == gen
    assert (index_dir / "CURRENT").read_text() == pointer
    assert _gen_dirs(index_dir) == dirs
    assert {p: p.stat().st_mtime_ns for p in gen.rglob("*")} == before

    # With no paths the index rescans the roots it remembers.
    again = update_index([], index_dir, embedder)
    assert again.embedded == 0 and again.articles == 4
    assert current_generation(index_dir) == gen


def test_adding_a_file_embeds_only_its_chunks(built, embedder):
    corpus, index_dir, first = built
    old = read_generation(index_dir)
    (corpus / "election.txt").write_text(ELECTION, encoding="utf-8")

    report = update_index([corpus], index_dir, embedder)
    data = read_generation(index_dir)
    new_ids = _ids_by_path(data)["election.txt"]
    assert report.added == new_ids and len(new_ids) == 1
    new_chunks = _chunks_of(data, new_ids[0])
    assert report.embedded == len(new_chunks) > 0
    assert report.reused == len(old.chunks)
    assert report.articles == 5 and report.chunks == len(old.chunks) + len(new_chunks)
    assert current_generation(index_dir).name != old.path.name
    # Reused vectors are carried over bit for bit.
    old_vec = {c.id: old.vectors[i] for i, c in enumerate(old.chunks)}
    for i, c in enumerate(data.chunks):
        if c.id in old_vec:
            assert np.array_equal(data.vectors[i], old_vec[c.id])
    # The new article is searchable.
    hits = Index(data, embedder).search("Riverton mayor second term vote", k=1)
    assert hits and hits[0].chunk.doc_id == new_ids[0]


def test_changing_a_file_replaces_its_chunks_and_reuses_the_rest(tmp_path, embedder):
    corpus = _corpus(tmp_path)
    (corpus / "report.txt").write_text(_long_article("The museum reopens next spring after repairs."), encoding="utf-8")
    index_dir = tmp_path / "index"
    update_index([corpus], index_dir, embedder)
    old = read_generation(index_dir)
    old_id = _ids_by_path(old)["report.txt"][0]
    old_chunks = _chunks_of(old, old_id)
    assert len(old_chunks) >= 4

    (corpus / "report.txt").write_text(
        _long_article("The stadium closes for good in the autumn, officials said."), encoding="utf-8"
    )
    report = update_index([corpus], index_dir, embedder)
    data = read_generation(index_dir)
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
    old_vec = {c.text: old.vectors[i] for i, c in enumerate(old.chunks)}
    for i, c in enumerate(data.chunks):
        if c.text in old_vec:
            assert np.array_equal(data.vectors[i], old_vec[c.text])
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
    data = read_generation(index_dir)
    text = data.articles["wire-1"].text
    assert "34 votes" in text and "31 votes" not in text
    assert all("31 votes" not in c.text for c in data.chunks)
    assert any("34 votes" in c.text for c in _chunks_of(data, "wire-1"))


def test_deleting_a_file_removes_its_articles_and_chunks(built, embedder):
    corpus, index_dir, _ = built
    old = read_generation(index_dir)
    gone = _ids_by_path(old)["floods.txt"]
    (corpus / "floods.txt").unlink()

    report = update_index([corpus], index_dir, embedder)
    data = read_generation(index_dir)
    assert report.removed == gone
    assert report.embedded == 0
    assert report.articles == 3
    for doc_id in gone:
        assert doc_id not in data.articles
        assert not _chunks_of(data, doc_id)
    assert len(data.vectors) == len(data.chunks)
    assert str(corpus / "floods.txt") not in data.manifest["sources"]
    hits = Index(data, embedder).search("river burst its banks flooding homes", k=5)
    assert all(h.chunk.doc_id not in gone for h in hits)


def test_same_text_in_two_files_is_stored_once(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(FLOODS, encoding="utf-8")
    (corpus / "b.txt").write_text(FLOODS.replace("Floods hit the valley", "Valley flooded"), encoding="utf-8")
    (corpus / "c.txt").write_text(BUDGET, encoding="utf-8")
    report = update_index([corpus], tmp_path / "index", embedder)
    data = read_generation(tmp_path / "index")
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
    data = read_generation(tmp_path / "index")
    assert all(Path(a.path).name != "latin1.txt" for a in data.articles.values())


def test_a_file_that_turns_bad_keeps_its_previous_articles(built, embedder):
    corpus, index_dir, _ = built
    old = read_generation(index_dir)
    kept = _ids_by_path(old)["budget.txt"]
    (corpus / "budget.txt").write_bytes(b"Budget\n\n\xff\xfe broken \xc3\x28 bytes")

    report = update_index([corpus], index_dir, embedder)
    data = read_generation(index_dir)
    assert report.issues and report.issues[0].path.endswith("budget.txt")
    assert any("budget.txt" in n and "kept" in n for n in report.notes), report.notes
    assert not report.removed
    for doc_id in kept:
        assert data.articles[doc_id] == old.articles[doc_id]
        assert [c.id for c in _chunks_of(data, doc_id)] == [c.id for c in _chunks_of(old, doc_id)]


def _crash(*_a, **_k):
    raise OSError(28, "No space left on device (simulated)")


def test_crash_while_writing_leaves_the_previous_index_answering(built, embedder, monkeypatch):
    corpus, index_dir, _ = built
    gen = current_generation(index_dir)
    (corpus / "election.txt").write_text(ELECTION, encoding="utf-8")

    def half_written_bm25(self, folder):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "partial").write_text("half a file")
        _crash()

    monkeypatch.setattr(Postings, "save", half_written_bm25)
    with pytest.raises(OSError, match="simulated"):
        update_index([corpus], index_dir, embedder)
    monkeypatch.undo()

    assert current_generation(index_dir) == gen
    data = read_generation(index_dir)  # checksums verified
    assert len(data.articles) == 4
    index = Index(data, embedder)
    hits = index.search("river burst its banks flooding homes", k=1)
    assert hits and "river to burst its banks" in hits[0].chunk.text
    # The lock died with the failed writer, and the next run finishes the job and tidies up.
    report = update_index([corpus], index_dir, embedder)
    assert len(report.added) == 1
    assert current_generation(index_dir) != gen
    assert not [p for p in index_dir.iterdir() if p.name.startswith((".gen-", ".seg-"))]
    assert len([p for p in index_dir.iterdir() if p.name.startswith("gen-")]) == 1
    assert sorted(p.name for p in index_dir.iterdir() if p.name.startswith("seg-")) == sorted(
        s["name"] for s in read_manifest(index_dir)["segments"]
    )


def test_crash_before_the_pointer_swap_leaves_the_previous_index(built, embedder, monkeypatch):
    import rag.store

    corpus, index_dir, _ = built
    gen = current_generation(index_dir)
    (corpus / "floods.txt").unlink()
    monkeypatch.setattr(rag.store, "_fsync_tree", _crash)  # all files written, not yet renamed into place
    with pytest.raises(OSError, match="simulated"):
        update_index([corpus], index_dir, embedder)
    monkeypatch.undo()
    assert current_generation(index_dir) == gen
    assert len(read_generation(index_dir).articles) == 4


def test_corrupted_vectors_are_detected(built, embedder):
    import rag

    _, index_dir, _ = built
    vectors = _segment(index_dir) / "vectors.npy"
    raw = bytearray(vectors.read_bytes())
    raw[-7] ^= 0xFF
    vectors.write_bytes(bytes(raw))
    with pytest.raises(IndexCorruptError, match=r"rag index --rebuild") as exc:
        read_generation(index_dir)
    assert "vectors.npy" in str(exc.value)
    with pytest.raises(IndexCorruptError, match=r"rag index --rebuild"):
        rag.Assistant.load(index_dir, embedder=embedder)


def test_truncated_vectors_are_detected(built):
    _, index_dir, _ = built
    vectors = _segment(index_dir) / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:100])
    with pytest.raises(IndexCorruptError, match=r"rag index --rebuild"):
        read_generation(index_dir)


def test_update_rebuilds_a_corrupted_index(built, embedder):
    corpus, index_dir, _ = built
    (_segment(index_dir) / "chunks.jsonl").write_text("garbage\n")
    report = update_index([corpus], index_dir, embedder)
    assert any("unusable" in n for n in report.notes), report.notes
    data = read_generation(index_dir)
    assert len(data.articles) == 4 and report.embedded == len(data.chunks)


def test_missing_index(tmp_path, embedder):
    with pytest.raises(IndexMissingError, match="rag index"):
        read_generation(tmp_path / "nothing-here")
    with pytest.raises(RagError):
        Index.load(tmp_path / "nothing-here", embedder)


class _RenamedEmbedder:
    """The real embedder under another name (as if the user switched models)."""

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
    data = read_generation(index_dir)
    assert any("rebuilding" in n and "some/other-embedder" in n for n in report.notes), report.notes
    assert report.embedded == len(data.chunks) == other.calls
    assert report.reused == 0
    assert data.manifest["embedder"] == "some/other-embedder"
    # Loading it with the original embedder is refused rather than searching mixed vectors.
    with pytest.raises(RagError, match="rebuild"):
        Index(data, embedder)


def test_writer_lock_names_its_holder(tmp_path):
    index_dir = tmp_path / "index"
    with writer_lock(index_dir):
        with pytest.raises(RagError, match=rf"pid {os.getpid()}\b"):
            with writer_lock(index_dir, wait=False):
                pass  # pragma: no cover
    with writer_lock(index_dir, wait=False):  # released after the with block
        pass


def test_writer_lock_held_by_another_process(tmp_path):
    index_dir = tmp_path / "index"
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from rag.store import writer_lock\n"
        "with writer_lock(Path(sys.argv[1])):\n"
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
        with pytest.raises(RagError, match=rf"pid {proc.pid}\b") as exc:
            with writer_lock(index_dir, wait=False):
                pass  # pragma: no cover
        assert "another process is writing" in str(exc.value)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    with writer_lock(index_dir, wait=False):  # the holder exited, so the lock is free
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

    with writer_lock(index_dir):
        worker = threading.Thread(target=run)
        worker.start()
        assert waited.wait(timeout=60), "the second writer never reported waiting"
        assert worker.is_alive()
    worker.join(timeout=120)
    assert "error" not in result, result
    assert f"pid {os.getpid()}" in holders[0]
    assert len(result["report"].added) == 1


def test_a_new_keyword_tokenizer_rebuilds_bm25_but_keeps_vectors(tmp_path, embedder, monkeypatch):
    import rag.indexer

    corpus = _corpus(tmp_path)
    index_dir = tmp_path / "index"
    monkeypatch.setattr(rag.indexer, "TOKENIZER_VERSION", "terms-old")
    update_index([corpus], index_dir, embedder)
    old_gen = current_generation(index_dir)
    monkeypatch.undo()

    report = update_index([corpus], index_dir, embedder)
    data = read_generation(index_dir)
    assert current_generation(index_dir) != old_gen, "the BM25 index must be rewritten"
    assert data.manifest["tokenizer"] == rag.indexer.TOKENIZER_VERSION
    assert report.embedded == 0 and report.reused == len(data.chunks)


def test_an_update_reuses_saved_terms_and_scores_like_a_fresh_build(built, embedder, monkeypatch):
    import rag.retrieval.lexical as lexical

    corpus, index_dir, _ = built
    (corpus / "floods.txt").write_text(FLOODS.replace("Thursday", "Friday") + "\nThe dam held.\n", encoding="utf-8")
    tokenized: list[str] = []
    real = lexical.tokenize
    monkeypatch.setattr(lexical, "tokenize", lambda text: tokenized.append(text) or real(text))
    update_index([corpus], index_dir, embedder)
    data = read_generation(index_dir)
    changed = {c.text for c in data.chunks if "floods" in Path(data.articles[c.doc_id].path).name}
    assert set(tokenized) == changed  # only the changed article's chunks were tokenised again
    assert len(data.segments) == 2  # the old segment, with floods.txt's rows deleted, and the new one
    updated = Index(data, embedder).retriever.lexical
    fresh = BM25Index.build([c.text for c in data.chunks])
    for query in ("river burst its banks on Friday", "budget deficit", "tram line votes", "volcano ash harbour"):
        got, want = updated.search(query, 5), fresh.search(query, 5)
        assert [i for i, _ in got] == [i for i, _ in want], query
        assert [s for _, s in got] == pytest.approx([s for _, s in want]), query


def test_a_large_index_searches_a_saved_hnsw_graph(built, embedder, monkeypatch):
    """From APPROXIMATE_FROM chunks the index is written with an HNSW graph and loaded with it
    (the threshold is lowered here so a small corpus crosses it)."""
    import rag.retrieval.dense as dense
    from rag.retrieval import FaissIndex, HnswIndex

    corpus, index_dir, _ = built
    assert isinstance(Index.load(index_dir, embedder).retriever.dense, FaissIndex)
    monkeypatch.setattr(dense, "APPROXIMATE_FROM", 3)
    (corpus / "election.txt").write_text(ELECTION, encoding="utf-8")
    update_index([corpus], index_dir, embedder, rebuild=True)
    segment = _segment(index_dir)
    assert (segment / dense.HNSW_FILE).is_file()
    index = Index.load(index_dir, embedder)  # the saved graph, covered by the manifest's checksums
    assert isinstance(index.retriever.dense, HnswIndex)
    assert dense.HNSW_FILE in read_manifest(index_dir)["segments"][-1]["checksums"]
    top = index.search("Who won a second term as mayor?", 1, method="dense")[0]
    assert "second term" in top.chunk.text


QUERIES = ("river burst its banks", "budget deficit cut", "tram line votes", "volcano ash harbour", "mayor second term")


def _same_results(index_dir: Path, fresh_dir: Path, embedder) -> None:
    """The updated index answers every query, by every method, exactly like a fresh build."""
    updated, fresh = Index.load(index_dir, embedder), Index.load(fresh_dir, embedder)
    assert sorted(c.id for c in updated.chunks) == sorted(c.id for c in fresh.chunks)
    for query in QUERIES:
        for method in ("dense", "lexical", "hybrid"):
            got, want = updated.search(query, 5, method=method), fresh.search(query, 5, method=method)
            assert [p.chunk.id for p in got] == [p.chunk.id for p in want], (query, method)
            assert [p.score for p in got] == pytest.approx([p.score for p in want], abs=1e-5), (query, method)


def test_an_update_writes_only_the_changed_article(tmp_path, fp32_embedder):
    embedder = fp32_embedder
    corpus = _corpus(tmp_path)
    index_dir = tmp_path / "index"
    update_index([corpus], index_dir, embedder)
    base = _segment(index_dir)
    before = {p: p.stat().st_mtime_ns for p in base.rglob("*")}
    rec = json.loads((corpus / "wire.jsonl").read_text(encoding="utf-8").splitlines()[0])
    lines = (corpus / "wire.jsonl").read_text(encoding="utf-8").splitlines()
    rec["text"] += "\n\nThe first trams will run in 2026, the transport office said."
    (corpus / "wire.jsonl").write_text("\n".join([json.dumps(rec), *lines[1:]]) + "\n", encoding="utf-8")

    report = update_index([corpus], index_dir, embedder)
    assert report.updated == ["wire-1"] and report.embedded == 1
    manifest = read_manifest(index_dir)
    old, new = manifest["segments"]
    assert old["name"] == base.name and old["dropped"] == ["wire-1"] and old["dead"] == 1
    assert {p: p.stat().st_mtime_ns for p in base.rglob("*")} == before, "the old segment is never rewritten"
    data = read_generation(index_dir)
    assert [a.id for a in data.segments[1].articles] == ["wire-1"]
    assert "2026" in data.articles["wire-1"].text
    assert all("2026" in c.text or c.doc_id != "wire-1" for c in data.chunks if c.doc_id == "wire-1")
    hits = Index(data, embedder).search("When will the first trams run?", 1)
    assert hits[0].chunk.doc_id == "wire-1" and "2026" in hits[0].chunk.text

    update_index([corpus], tmp_path / "fresh", embedder)
    _same_results(index_dir, tmp_path / "fresh", embedder)


def test_segments_are_merged_back_when_they_pile_up(tmp_path, fp32_embedder, monkeypatch):
    import rag.indexer

    embedder = fp32_embedder
    corpus = _corpus(tmp_path)
    index_dir = tmp_path / "index"
    update_index([corpus], index_dir, embedder)
    monkeypatch.setattr(rag.indexer, "MAX_SEGMENTS", 3)
    monkeypatch.setattr(rag.indexer, "MAX_DEAD", 0.9)
    articles = [ELECTION, VOLCANO.replace("Tuesday", "Friday"), _long_article("The pier reopens in May.")]
    counts = []
    for i, text in enumerate(articles * 2):
        (corpus / f"extra-{i}.txt").write_text(text.replace("\n\n", f"\n\nUpdate {i}.\n\n", 1), encoding="utf-8")
        if i % 2:
            (corpus / f"extra-{i - 1}.txt").unlink()
        update_index([corpus], index_dir, embedder)
        counts.append(len(read_manifest(index_dir)["segments"]))
    assert max(counts) == 3 and counts[-1] <= 3, counts
    update_index([corpus], tmp_path / "fresh", embedder)
    _same_results(index_dir, tmp_path / "fresh", embedder)

    # Once most rows are deleted, everything is rewritten into one segment.
    monkeypatch.setattr(rag.indexer, "MAX_DEAD", 0.1)
    (corpus / "budget.txt").unlink()
    (corpus / "floods.txt").unlink()
    report = update_index([corpus], index_dir, embedder)
    assert report.embedded == 0
    manifest = read_manifest(index_dir)
    assert len(manifest["segments"]) == 1 and manifest["segments"][0]["dead"] == 0
    assert sorted(p.name for p in index_dir.iterdir() if p.name.startswith("seg-")) == [manifest["segments"][0]["name"]]
    fresh = tmp_path / "fresh2"
    update_index([corpus], fresh, embedder)
    _same_results(index_dir, fresh, embedder)


def test_a_reader_racing_a_writer_loads_the_new_generation(built, embedder, monkeypatch):
    """A writer that swaps generations and deletes old segments mid-read sends the reader round again."""
    import rag.indexer
    import rag.store

    corpus, index_dir, _ = built
    (corpus / "floods.txt").unlink()
    real = rag.store.read_segment
    raced = []

    def read_then_race(index_dir_, entry, offset=0):
        if not raced:  # the writer runs to completion (merging, so the old segment goes) while we read
            raced.append(True)
            monkeypatch.setattr(rag.indexer, "MAX_DEAD", 0.0)
            update_index([corpus], index_dir, embedder)
        return real(index_dir_, entry, offset)

    monkeypatch.setattr(rag.store, "read_segment", read_then_race)
    data = read_generation(index_dir)
    assert raced and len(data.articles) == 3 and data.path == current_generation(index_dir)
