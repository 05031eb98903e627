"""Shared fixtures: the real embedder, a seed index built once per session, a scripted LLM."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # never reach for a model hub, before anything imports transformers
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# The embedder's ONNX export (written when an index is built) goes to a folder of this session's,
# not the user's ~/.cache; subprocesses started by tests inherit it.
_CACHE = __import__("tempfile").mkdtemp(prefix="rag-test-cache-")
os.environ["RAG_CACHE_DIR"] = _CACHE
__import__("atexit").register(__import__("shutil").rmtree, _CACHE, True)

from collections.abc import Iterator, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED_ARTICLE = CORPUS / "kazakhstan-unrest.txt"
GOLD = Path(__file__).resolve().parent / "gold"

ARRESTED_SENTENCE = "At least 2,000 people have reportedly been arrested."
ARRESTED = "How many people were arrested?"


class FakeLLM:
    """A deterministic stand-in for `rag.llm.LLM`: streams a scripted reply in pieces.

    ``replies`` is one reply for every call, or a list used in turn (the last one
    repeats). Every call's messages are recorded in ``calls``.
    """

    def __init__(self, replies: str | Sequence[str] = "NOT IN ARTICLES", *, n_ctx: int = 2048, pieces: int = 4) -> None:
        self.replies = [replies] if isinstance(replies, str) else list(replies)
        self.name = "fake-llm"
        self.n_ctx = n_ctx
        self.pieces = pieces
        self.calls: list[list[dict[str, str]]] = []
        self.kwargs: list[dict] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream_chat(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int, temperature: float = 0.0
    ) -> Iterator[str]:
        self.calls.append([dict(m) for m in messages])
        self.kwargs.append({"max_tokens": max_tokens, "temperature": temperature})
        reply = self.replies[min(len(self.calls) - 1, len(self.replies) - 1)]
        size = max(1, -(-len(reply) // self.pieces))
        for i in range(0, len(reply), size):
            yield reply[i : i + size]

    def choose(self, messages: Sequence[dict[str, str]], options: Sequence[str]) -> int | None:
        """Pick the option the scripted reply names (as a grammar-bound model would), else the first."""
        self.calls.append([dict(m) for m in messages])
        reply = self.replies[min(len(self.calls) - 1, len(self.replies) - 1)]
        return next((i for i, o in enumerate(options) if o == reply), 0 if options else None)

    @property
    def last_messages(self) -> list[dict[str, str]]:
        assert self.calls, "the LLM was never called"
        return self.calls[-1]


@pytest.fixture(scope="session")
def embedder():
    """The shipped embedder as users get it (bf16 on CPUs with AMX, else fp32)."""
    from rag.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def fp32_embedder(embedder):
    """The shipped model in fp32, for tests that compare vectors from different batches
    (bf16 results move by ~1e-3 with the batch a text lands in; fp32's by ~1e-7)."""
    from rag.embedder import SentenceTransformerEmbedder

    return embedder if embedder.precision == "fp32" else SentenceTransformerEmbedder(precision="fp32")


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, embedder) -> Path:
    """An index of corpus/ (the shipped seed article), built once. Treat it as read-only."""
    from rag.indexer import update_index

    index_dir = tmp_path_factory.mktemp("seed-index") / "index"
    report = update_index([CORPUS], index_dir, embedder)
    assert report.articles >= 1 and report.chunks >= 1, report.to_dict()
    assert not report.issues, report.issues
    return index_dir


@pytest.fixture(scope="session")
def seed_reader(embedder):
    """One reader (with the shipped fitted weights) for every assistant in the tests.

    Its caches (sentence splits and embeddings) are keyed by text, so sharing it only
    saves re-embedding the same sentences; it changes no answer.
    """
    from rag.answer.reader import Reader

    return Reader(embedder)


@pytest.fixture(scope="session")
def seed_assistant(seed_index, embedder, seed_reader):
    """One extractive assistant over the seed index, shared (it has no per-question state)."""
    import rag

    return rag.Assistant.load(seed_index, embedder=embedder, llm=FakeLLM(), reader=seed_reader, mode="extractive", k=5)


@pytest.fixture
def shared_models(monkeypatch, embedder, seed_reader):
    """Commands and assistants made from settings (`rag.wiring`) use the session's real embedder
    and its warm reader instead of loading second copies; everything else about them is unchanged."""
    import rag.wiring

    monkeypatch.setattr(rag.wiring, "index_embedder", lambda: embedder)
    monkeypatch.setattr(rag.wiring, "query_embedder", lambda: embedder)
    monkeypatch.setattr(rag.wiring, "make_reader", lambda _embedder: seed_reader)


@pytest.fixture
def fake_llm() -> FakeLLM:
    return FakeLLM()


@pytest.fixture
def assistant(seed_index, embedder, fake_llm, seed_reader):
    """A fresh assistant over the seed index whose LLM is ``fake_llm`` (script it before asking)."""
    import rag

    return rag.Assistant.load(seed_index, embedder=embedder, llm=fake_llm, reader=seed_reader, mode="extractive", k=5)


@pytest.fixture(autouse=True)
def clean_rag_env(monkeypatch):
    """No RAG_* variable from the caller's shell leaks into a test (the session's cache folder stays)."""
    for name in list(os.environ):
        if name.startswith("RAG_") and name != "RAG_CACHE_DIR":
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def real_llm():
    """The shipped SmolLM2-135M through llama-cpp-python, loaded once (slow tests only)."""
    from rag.llm import LlamaCppLLM

    return LlamaCppLLM()


@pytest.fixture(scope="session")
def real_assistant(seed_index, embedder, seed_reader, real_llm):
    """The product as shipped: seed index, real embedder, real LLM, auto mode."""
    import rag

    return rag.Assistant.load(seed_index, embedder=embedder, llm=real_llm, reader=seed_reader, mode="auto", k=5)
