"""rag.embedder's answering side: the ONNX export, its cache, and vectors that match sentence-transformers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, ROOT

from rag.embedder import SentenceTransformerEmbedder, answering_embedder
from rag.embedder.base import SHIPPED_NAME, ModelFolder, minilm_path
from rag.embedder.onnx import OnnxEmbedder, _pool, cache_dir, cached_export, export, model_key, supported
from rag.errors import RagError
from rag.indexer import corpus_files, update_index
from rag.loaders import load_file

HEAVY = ("torch", "transformers", "sentence_transformers", "sklearn")


def _folder(tmp: Path, pooling: dict, modules: list[str] | None = None, max_len: int | None = 128) -> Path:
    """A sentence-transformers folder of config files only (no weights)."""
    kinds = modules or ["Transformer", "Pooling", "Normalize"]
    paths = ["", "1_Pooling", "2_Normalize", "3_Dense"]
    (tmp / "1_Pooling").mkdir(parents=True)
    (tmp / "modules.json").write_text(json.dumps(
        [{"idx": i, "name": str(i), "path": paths[i], "type": f"sentence_transformers.models.{k}"} for i, k in enumerate(kinds)]
    ))
    (tmp / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (tmp / "sentence_bert_config.json").write_text(json.dumps({} if max_len is None else {"max_seq_length": max_len}))
    return tmp


# -- the model folder's settings ----------------------------------------------------------------


def test_the_shipped_folder_says_what_sentence_transformers_does(embedder):
    folder = ModelFolder.read(minilm_path())
    assert (folder.plain, folder.dim, folder.max_seq_length, folder.pooling) == (True, 384, 256, ("mean",))
    loaded = embedder._model  # the loaded model is the reference for what the files say
    assert folder.dim == loaded.get_embedding_dimension() and folder.max_seq_length == loaded.max_seq_length


def test_pooling_is_read_in_both_config_formats(tmp_path):
    legacy = ModelFolder.read(_folder(tmp_path / "a", {
        "word_embedding_dimension": 8, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True,
    }))
    assert legacy.pooling == ("cls", "mean") and legacy.dim == 16 and legacy.max_seq_length == 128
    current = ModelFolder.read(_folder(tmp_path / "b", {"embedding_dimension": 8, "pooling_mode": "max"}))
    assert current.pooling == ("max",) and current.dim == 8 and supported(current)
    unset = ModelFolder.read(_folder(tmp_path / "c", {"word_embedding_dimension": 8}))
    assert unset.pooling == ("mean",)  # sentence-transformers' default too


def test_folders_the_onnx_path_cannot_reproduce_are_declined(tmp_path):
    dense = ModelFolder.read(_folder(tmp_path / "a", {"embedding_dimension": 8}, ["Transformer", "Pooling", "Dense"]))
    assert not dense.plain and dense.dim is None and not supported(dense)
    weighted = ModelFolder.read(_folder(tmp_path / "b", {"embedding_dimension": 8, "pooling_mode": "weightedmean"}))
    assert weighted.plain and not supported(weighted)
    no_limit = ModelFolder.read(_folder(tmp_path / "c", {"embedding_dimension": 8}, max_len=None))
    assert not supported(no_limit)
    assert not ModelFolder.read(tmp_path / "missing").plain


def test_pooling_ignores_padding():
    hidden = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    mask = np.array([[1, 1, 1], [1, 1, 0]])
    mean = _pool(hidden, mask, ("mean",))
    assert np.allclose(mean, [hidden[0].mean(0), hidden[1, :2].mean(0)])
    assert np.allclose(_pool(hidden, mask, ("max",)), [hidden[0, 2], hidden[1, 1]])
    assert np.allclose(_pool(hidden, mask, ("cls", "mean_sqrt_len_tokens")),
                       np.hstack([hidden[:, 0], [hidden[0].sum(0) / np.sqrt(3), hidden[1, :2].sum(0) / np.sqrt(2)]]))


# -- the cache -------------------------------------------------------------------------------------


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" / "onnx"
    monkeypatch.delenv("RAG_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "rag-news" / "onnx"


def test_the_key_changes_with_any_model_file(tmp_path):
    folder = _folder(tmp_path / "m", {"embedding_dimension": 8})
    weights = folder / "model.safetensors"
    weights.write_bytes(b"\0" * (2 << 20))  # above the size hashed by content
    key = model_key(folder)
    assert model_key(folder) == key
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64}))
    assert model_key(folder) != key
    key = model_key(folder)
    os.utime(weights, ns=(1, 1))  # a reinstalled or replaced weights file
    assert model_key(folder) != key
    key = model_key(folder)
    weights.write_bytes(b"\0" * (3 << 20))
    os.utime(weights, ns=(1, 1))
    assert model_key(folder) != key


def test_without_an_export_answers_come_from_sentence_transformers_unloaded(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    e = answering_embedder()
    assert isinstance(e, SentenceTransformerEmbedder)
    assert (e.name, e.dim, e.max_tokens) == (SHIPPED_NAME, 384, 256)
    assert e._loaded is None  # knowing its name and sizes loaded no model


def test_a_failed_export_is_a_note_not_an_error(tmp_path):
    class Failing:
        name, dim, max_tokens = "fake", 4, 64

        def count_tokens(self, texts):
            return [len(t.split()) for t in texts]

        def embed(self, texts, *, progress=False):
            return np.eye(len(texts), 4, dtype=np.float32)

        def export_for_answering(self):
            raise RuntimeError("exporter broke\nsecond line")

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text("Floods\n\nHeavy rain flooded the valley on Thursday.\n")
    report = update_index([tmp_path / "c"], tmp_path / "idx", Failing())
    assert report.chunks == 1
    assert report.notes == ["answers will start slower (no ONNX export of the embedder: exporter broke)"]


# -- the export and its vectors (the real model) ---------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder):
    """An index of the corpus built with an empty cache: the export that indexing leaves."""
    cache = tmp_path_factory.mktemp("cache")
    index = tmp_path_factory.mktemp("index")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAG_CACHE_DIR", str(cache))
        update_index([CORPUS], index, embedder)
    return cache, index


@pytest.fixture
def exported(built, monkeypatch):
    """That cache in use (conftest clears every RAG_* variable before each test)."""
    monkeypatch.setenv("RAG_CACHE_DIR", str(built[0]))
    return built[0], ModelFolder.read(minilm_path()), built[1]


def _real_texts() -> list[str]:
    """Every sentence of the shipped corpus and the story fixtures, and the articles whole
    (most beyond 256 tokens, so truncation is compared too)."""
    articles = [a.text for root in (CORPUS, ROOT / "tests" / "data" / "story") for f in corpus_files(root)
                for a in load_file(f).articles]
    sentences = [s for t in articles for s in re.split(r"(?<=[.!?])\s+", t) if s.strip()]
    return sentences + articles + ["", "  padded with spaces  "]


@pytest.mark.slow
def test_onnx_vectors_match_sentence_transformers_fp32(exported, fp32_embedder):
    onnx = answering_embedder(precision="fp32")
    assert isinstance(onnx, OnnxEmbedder) and onnx.precision == "fp32"
    assert (onnx.name, onnx.dim, onnx.max_tokens) == (fp32_embedder.name, fp32_embedder.dim, fp32_embedder.max_tokens)
    texts = _real_texts()
    assert len(texts) >= 200
    assert max(fp32_embedder.count_tokens(texts)) > 256
    got, want = onnx.embed(texts), fp32_embedder.embed(texts)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert (got * want).sum(axis=1).min() >= 0.9999
    assert np.allclose(onnx.embed(texts[:1])[0], got[0], atol=1e-5)  # alone or in a batch alike
    assert onnx.count_tokens(texts) == fp32_embedder.count_tokens(texts)
    assert onnx.embed([]).shape == (0, 384)


@pytest.mark.slow
def test_the_8bit_copy_answers_by_default_and_stays_close_to_fp32(exported, fp32_embedder):
    """Faster, not the same: every real text within cosine 0.97 of fp32, most within 0.99, and
    each sentence's nearest neighbour among the others the same for nearly all of them."""
    quick = answering_embedder()
    assert isinstance(quick, OnnxEmbedder) and quick.precision == "int8"
    assert (quick.name, quick.dim, quick.max_tokens) == (fp32_embedder.name, fp32_embedder.dim, fp32_embedder.max_tokens)
    texts = [t for t in _real_texts() if t.strip()]
    got, want = quick.embed(texts), fp32_embedder.embed(texts)
    agreement = (got * want).sum(axis=1)
    assert agreement.min() >= 0.97 and np.median(agreement) >= 0.99
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    queries = [json.loads(line)["question"] for line in (ROOT / "tests" / "gold" / "seed.jsonl").open()]
    # Searched as the index is: 8-bit queries against fp32 passages; the same best passage almost always.
    same = (np.argmax(quick.embed(queries) @ want.T, axis=1) == np.argmax(fp32_embedder.embed(queries) @ want.T, axis=1))
    assert same.mean() >= 0.9, same.mean()


def test_an_unknown_answering_precision_is_refused(monkeypatch):
    monkeypatch.setenv("RAG_ANSWER_PRECISION", "int4")
    with pytest.raises(RagError, match="unknown answering precision 'int4'; use one of: fp32, int8"):
        answering_embedder()


@pytest.mark.slow
def test_without_the_8bit_copy_the_fp32_export_answers(exported, tmp_path, monkeypatch):
    cache, folder, _ = exported
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    (tmp_path / "onnx").mkdir()
    full = cached_export(folder)
    full.symlink_to(cache / "onnx" / full.name)  # a link, not a copy of 90 MB; any filesystem
    assert answering_embedder().precision == "fp32"
    cached_export(folder, "int8").write_bytes(b"not a model")  # unreadable: the next one answers
    assert answering_embedder().precision == "fp32"
    monkeypatch.setenv("RAG_ANSWER_PRECISION", "fp32")
    assert answering_embedder().precision == "fp32"


@pytest.mark.slow
def test_an_8bit_copy_that_strays_from_fp32_is_not_kept(exported, tmp_path, monkeypatch):
    from rag.embedder import onnx as onnx_module

    cache, folder, _ = exported
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    (tmp_path / "onnx").mkdir()
    cached_export(folder).symlink_to(cache / "onnx" / cached_export(folder).name)
    monkeypatch.setattr(onnx_module, "MIN_INT8_COSINE", 1.01)  # no copy can agree that well
    with pytest.raises(ValueError, match="the 8-bit ONNX copy agrees with fp32 only to cosine 0.9"):
        export(folder)
    assert sorted(p.name for p in (tmp_path / "onnx").iterdir()) == [cached_export(folder).name]  # nothing half-written


@pytest.mark.slow
def test_indexing_leaves_the_export_once_and_answering_never_imports_torch(exported, embedder):
    cache, folder, index = exported
    file, quick = cached_export(folder), cached_export(folder, "int8")
    assert file.parent == cache / "onnx" and file.exists() and quick.exists()
    assert sorted(p.name for p in file.parent.iterdir()) == sorted([file.name, quick.name])  # written whole: no temporary file left
    stamps = file.stat().st_mtime_ns, quick.stat().st_mtime_ns
    export(folder)
    update_index([CORPUS], index, embedder, rebuild=True)
    assert (file.stat().st_mtime_ns, quick.stat().st_mtime_ns) == stamps  # cached: not exported again
    probe = (
        "import sys; from rag.embedder import answering_embedder; e = answering_embedder(); "
        "v = e.embed(['How many people were arrested?']); "
        f"print(type(e).__name__, v.shape, [m for m in {HEAVY!r} if m in sys.modules])"
    )
    env = dict(os.environ, RAG_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert out.stdout.splitlines()[0] == "OnnxEmbedder (1, 384) []"


@pytest.mark.slow
def test_an_unreadable_export_falls_back(exported, tmp_path, monkeypatch):
    _, folder, _ = exported
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    broken = cached_export(folder)
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a model")
    assert isinstance(answering_embedder(), SentenceTransformerEmbedder)
