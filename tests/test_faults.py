"""Faults with real processes: `rag index` killed with SIGKILL at many points, and concurrent writers.

Each kill lands somewhere in a real run (imports, model load, loading files,
embedding, writing the new vector file, committing the keyword index, committing
SQLite). Whatever the moment, the index on disk must load with its checksums
verified, hold either the whole old corpus or the whole new one, answer the seed
question, and pass the store's integrity check once a reader has repaired what a
kill may leave (a keyword index committed ahead of SQLite).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ARRESTED, CORPUS

from rag.index import Index
from rag.indexer import update_index
from rag.store import open_store

pytestmark = pytest.mark.slow

ENV = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")


def _extra_articles(folder: Path, n: int, start: int = 0) -> None:
    """``n`` distinct multi-paragraph articles, numbered from ``start``, to keep the embedder busy."""
    folder.mkdir(parents=True, exist_ok=True)
    towns = ["Riverton", "Lakeside", "Hillview", "Stonebridge", "Eastport", "Millbrook", "Oakdale", "Westfield"]
    for i in range(start, start + n):
        town = towns[i % len(towns)]
        paras = [
            f"Report {i} from {town}: the council met on day {d} to discuss budget item {i * 7 + d}, "
            f"and {d + 3} residents spoke about road {i}-{d}, the library and the new bus route {d * 11}."
            for d in range(6)
        ]
        (folder / f"extra-{i:03d}.txt").write_text(f"{town} council report {i}\n\n" + "\n\n".join(paras) + "\n")


def _rag_index(corpus: Path, index_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rag", "index", str(corpus), "--index", str(index_dir), "--quiet"],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _answers(index_dir: Path, embedder, seed_reader) -> tuple[int, str]:
    import rag

    assistant = rag.Assistant.load(index_dir, embedder=embedder, reader=seed_reader, mode="extractive")  # verifies every checksum
    return assistant.index.stats()["articles"], assistant.ask(ARRESTED).text


def _healthy(index_dir: Path) -> None:
    """SQLite's integrity check, every vector file's checksum, tantivy at SQLite's generation and count."""
    stats = open_store(index_dir).stats(check=True)
    assert stats.healthy, stats.problems


def _leftovers(index_dir: Path) -> set[str]:
    """Files in index/vectors/ that no generation records (a killed writer's half-written file)."""
    import json
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(index_dir / "store.sqlite")) as db:
        recorded = {f for (c,) in db.execute("SELECT checksums FROM vector_files") for f in json.loads(c)}
    return {p.name for p in (index_dir / "vectors").iterdir()} - recorded


@pytest.fixture
def old_and_new(tmp_path, embedder):
    """An index of the seed corpus, and a corpus folder that adds 30 articles to it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in CORPUS.iterdir():
        (corpus / f.name).write_bytes(f.read_bytes())
    index_dir = tmp_path / "index"
    old = update_index([corpus], index_dir, embedder)
    _extra_articles(corpus / "more", 30)
    return corpus, index_dir, old.articles


def test_sigkill_at_any_point_leaves_a_whole_index_answering(old_and_new, embedder, seed_reader):
    corpus, index_dir, old_articles = old_and_new
    new_articles = old_articles + 30
    # One uninterrupted run (on a copy) to learn how long a run takes here.
    import shutil

    pristine = index_dir.parent / "pristine-index"
    shutil.copytree(index_dir, pristine)
    t0 = time.monotonic()
    done = _rag_index(corpus, pristine)
    _out, err = done.communicate(timeout=600)
    assert done.returncode == 0, err
    duration = time.monotonic() - t0
    shutil.rmtree(pristine)
    shutil.copytree(index_dir, pristine)
    # Kill points over the whole run, densest near the end, where the new generation is
    # written and the pointer swapped. Every run starts from the old index.
    fractions = [0.05, 0.3, 0.5, 0.6, 0.65, 0.7, 0.74, 0.77, 0.8, 0.83, 0.86, 0.89, 0.92, 0.95, 0.98]
    seen = []
    for f in fractions:
        shutil.rmtree(index_dir)
        shutil.copytree(pristine, index_dir)
        proc = _rag_index(corpus, index_dir)
        time.sleep(duration * f)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        articles, answer = _answers(index_dir, embedder, seed_reader)
        assert articles in (old_articles, new_articles), f"mixed index after a kill at {f:.0%}: {articles} articles"
        assert "2,000" in answer, answer
        _healthy(index_dir)
        seen.append(articles)
    # The next run finishes the job and cleans up after the killed ones.
    proc = _rag_index(corpus, index_dir)
    _out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert _answers(index_dir, embedder, seed_reader)[0] == new_articles
    _healthy(index_dir)
    assert _leftovers(index_dir) == set()
    print(f"run {duration:.1f}s; articles after each kill: {seen}")


def test_two_rag_index_processes_are_serialised(old_and_new, embedder, seed_reader):
    corpus, index_dir, old_articles = old_and_new
    _extra_articles(corpus / "many", 150, start=1000)  # a first run long enough to still hold the lock
    first = _rag_index(corpus, index_dir)
    # Start the second once the first holds the lock.
    lock = index_dir / ".lock"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
        time.sleep(0.05)
    second = _rag_index(corpus, index_dir)
    _o1, e1 = first.communicate(timeout=600)
    _o2, e2 = second.communicate(timeout=600)
    assert first.returncode == 0 and second.returncode == 0, (e1, e2)
    assert f"waiting for the index lock held by pid {first.pid}" in e2
    assert _answers(index_dir, embedder, seed_reader)[0] == old_articles + 30 + 150
    _healthy(index_dir)
    assert _leftovers(index_dir) == set()


def test_page_adding_an_article_during_a_cli_index_run(old_and_new, embedder, seed_reader, tmp_path):
    """What the chat page does on upload (Assistant.add) while `rag index` runs on the same index."""
    import rag

    corpus, index_dir, old_articles = old_and_new
    _extra_articles(corpus / "many", 150, start=1000)
    assistant = rag.Assistant.load(index_dir, embedder=embedder, reader=seed_reader, mode="extractive")
    upload = tmp_path / "uploaded.txt"
    upload.write_text(
        "Ferry capsizes on Lake Victoria\n\nA ferry carrying 120 people capsized on Monday, officials said.\n"
    )
    cli = _rag_index(corpus, index_dir)
    lock = index_dir / ".lock"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
        time.sleep(0.05)
    answers_meanwhile = []
    stop = threading.Event()

    def keep_asking():
        while not stop.is_set():
            answers_meanwhile.append(assistant.ask(ARRESTED).text)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        report = assistant.add([upload])  # waits for the CLI's lock, then adds on top of its result
    finally:
        stop.set()
        asker.join(timeout=120)
    _out, err = cli.communicate(timeout=600)
    assert cli.returncode == 0, err
    assert report.added, report.to_dict()
    final = Index.load(index_dir, embedder)
    assert final.stats()["articles"] == old_articles + 30 + 150 + 1  # nothing lost from either writer
    assert answers_meanwhile and all("2,000" in a for a in answers_meanwhile)
    assert "120 people" in assistant.ask("How many people was the ferry carrying?").text


def test_ctrl_c_during_rag_eval_prints_and_saves_the_questions_done(seed_index, tmp_path):
    """A real SIGINT in the middle of a generative run (the slowest kind)."""
    import json
    import re

    from conftest import GOLD

    out = tmp_path / "partial.json"
    args = [sys.executable, "-m", "rag", "eval", str(GOLD / "seed.jsonl"), "--index", str(seed_index), "--mode", "generative"]
    # How long start-up and a few questions take on this machine now, so the signal lands mid-run
    # however loaded the machine is (a fixed sleep can land during start-up).
    started = time.monotonic()
    subprocess.run([*args, "--limit", "3"], env=ENV, capture_output=True, check=True)
    warm_up = time.monotonic() - started
    proc = subprocess.Popen(
        [*args, "--json", str(out)],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # background jobs may inherit "ignore"
    )
    time.sleep(warm_up)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    done = int(re.search(r"figures for the (\d+) of 77 questions done", stderr).group(1))
    assert 0 < done < 77
    assert "questions" in stdout and "Traceback" not in stderr
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["interrupted"] is True and len(saved["rows"]) == done == saved["metrics"]["questions"]
