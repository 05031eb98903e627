"""The assistant: holds the parts, keeps the index current, and runs each answer on the right thread.

One code path serves streamed and whole answers: `stream` yields text pieces
and leaves the finished `Answer` on the stream; `ask` drains a stream. The
answer itself is `rag.answer.flow`; the parts come from `rag.wiring`. A local
model's answers run on the compute thread (`rag.compute`); with a remote LLM
server the answer runs on the caller's thread, so waiting on the network never
holds up local embedding, and its embeddings still hop to the compute thread.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path

from . import compute
from .answer.compose import ABSTAIN_PREFIX
from .answer.flow import MAX_QUESTION_CHARS, Tools, answer_flow
from .answer.generate import Exchanges
from .answer.query import plan
from .answer.timeline import timeline
from .config import Settings
from .dates import parse_as_of, today
from .errors import RagError
from .index import Index
from .indexer import IndexReport, update_index
from .llm import is_local
from .types import Answer, Passage
from .wiring import embedder_for, parts

__all__ = ["Assistant", "AnswerStream", "ABSTAIN_PREFIX", "MAX_QUESTION_CHARS"]


class AnswerStream:
    """Iterate for text pieces; ``answer`` holds the full `Answer` once iteration ends."""

    def __init__(self, events: Generator[str, None, Answer]) -> None:
        self._events = events
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        self.answer = yield from self._events


class Assistant:
    """Answers questions about the articles in an index.

    Build with :meth:`build` (index or update a corpus, then load) or :meth:`load` (an existing
    index); both take the parts to use (``embedder``, ``llm``, ``reader``) and settings, and make
    the rest from the settings (`rag.wiring`). The LLM loads on first generative use.
    """

    def __init__(self, index: Index, *, embedder, llm, reader, settings: Settings, index_dir: str | Path) -> None:
        self.index, self.embedder, self.llm, self.reader = index, embedder, llm, reader
        self.settings = settings
        self.index_dir = str(index_dir)  # a store spec (rag.store): a folder, or Milvus
        self.last_report: IndexReport | None = None
        self._reload_lock = threading.Lock()
        self._tools = Tools(embedder, reader, llm, Exchanges(), settings.max_tokens, settings.temperature)

    @classmethod
    def build(cls, corpus="corpus", index_dir="index", *, rebuild: bool = False, progress: bool = False, **kw) -> Assistant:
        """Index (or update the index of) ``corpus`` into ``index_dir``, then load it."""
        embedder = embedder_for(kw.pop("embedder", None), indexing=True)  # loaded to index: it answers too
        paths = [corpus] if isinstance(corpus, (str, Path)) else list(corpus)
        report = compute.run(update_index, paths, index_dir, embedder, rebuild=rebuild, progress=progress)
        assistant = cls.load(index_dir, embedder=embedder, **kw)
        assistant.last_report = report
        return assistant

    @classmethod
    def load(cls, index_dir="index", *, embedder=None, llm=None, reader=None, **settings) -> Assistant:
        """Load a built index; ``settings`` are `Settings` fields (``model``, ``llm_url``, ``mode``, ``k``…)."""
        s = Settings.from_env(index=str(index_dir), **settings)
        p = parts(s, embedder=embedder, llm=llm, reader=reader)
        return cls(p.index, embedder=p.embedder, llm=p.llm, reader=p.reader, settings=p.settings, index_dir=p.index_dir)

    @property
    def model_name(self) -> str:
        return self.llm.name

    # -- corpus updates ----------------------------------------------------
    def add(self, paths: Sequence[str | Path], *, progress: bool = False) -> IndexReport:
        """Index more files (incrementally) and start answering from them."""
        report = compute.run(update_index, list(paths), self.index_dir, self.embedder, progress=progress)
        self.reload()
        return report

    def reload(self) -> None:
        """Switch to the index's live generation (after another process updated it)."""
        with self._reload_lock:
            self.index = Index.load(self.index_dir, self.embedder)

    # -- answering -----------------------------------------------------------
    def ask(self, question: str, history: Sequence[dict] | None = None, *, mode=None, k=None, as_of=None) -> Answer:
        """Answer one question; ``history`` is the earlier ``{"role", "content"}`` turns and
        ``as_of`` the day it is asked ("YYYY-MM-DD", default today): later articles are not used."""
        stream = self.stream(question, history, mode=mode, k=k, as_of=as_of)
        for _ in stream:
            pass
        assert stream.answer is not None
        return stream.answer

    def stream(self, question: str, history: Sequence[dict] | None = None, *, mode=None, k=None, as_of=None) -> AnswerStream:
        """Like :meth:`ask`, but yields the answer text as it is produced."""
        s = self.settings.with_overrides(mode=mode, k=k)
        day = parse_as_of(as_of or today())
        index = self.index  # one generation for the whole answer, even if a reload happens meanwhile

        def flow():
            return answer_flow(self._tools, index, question, history, s.mode, s.k, day)

        local = is_local(self.llm) or s.mode == "extractive"
        return AnswerStream(compute.relay(flow) if local else flow())

    def timeline(self, topic: str, *, as_of: str | None = None, k: int | None = None) -> Answer:
        """A dated digest of ``topic``: the best sentence of each of up to five days, in date order,
        each cited, as asking "How has <topic> developed?" gives (`rag.answer.news`)."""
        k = self.settings.with_overrides(k=k).k
        day = parse_as_of(as_of or today())
        topic = (topic or "").strip()[:MAX_QUESTION_CHARS]
        if not topic:
            raise RagError("the topic is empty; name what to follow, e.g.: rag timeline \"death toll\"")
        index = self.index
        return compute.run(timeline, index, self.embedder, self.reader, topic, k=k, as_of=day)

    def retrieve(self, question: str, history: Sequence[dict] | None = None, *, k=None, as_of=None) -> list[Passage]:
        """The retriever's ``k`` best passages for ``question``, one per story (no reading, no LLM).

        An answer's sources put the passage it quotes first, standing for its story, then these
        (`rag.answer.reader.sources`).
        Follow-ups are retrieved with their conversation, exactly as :meth:`ask` does.
        """
        k = self.settings.with_overrides(k=k).k
        day = parse_as_of(as_of or today())
        text = (question or "").strip()[:MAX_QUESTION_CHARS]
        index = self.index
        return compute.run(lambda: plan(index, self.embedder, text, history, k=k, as_of=day, analyse=False).passages)
