"""The assistant: retrieve, find evidence, answer (quoted or generated and checked), cite.

One code path serves streamed and whole answers: `stream` yields text pieces
and leaves the finished `Answer` on the stream; `ask` drains a stream.
Generated text is released a sentence at a time, after that sentence has been
checked against the evidence, so an unsupported claim never reaches the user.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .answer.choose import read_with
from .answer.compose import ABSTAIN_PREFIX, abstention, digest, disagreement, extractive, with_copies
from .answer.conversation import taken_to_mean
from .answer.generate import Exchanges, Generated, generate
from .answer.news import arrange
from .answer.query import plan, reports_of
from .answer.reader import Reader
from .answer.timeline import timeline
from .config import Settings
from .dates import parse_as_of, today
from .embedder import Embedder, SentenceTransformerEmbedder
from .errors import RagError
from .index import Index
from .indexer import IndexReport, update_index
from .llm import LLM, LlamaCppLLM, check_gguf
from .types import Answer, Passage

__all__ = ["Assistant", "AnswerStream", "ABSTAIN_PREFIX", "MAX_QUESTION_CHARS"]

MAX_QUESTION_CHARS = 2000  # longer questions are trimmed, and the answer says so
# Answer classes that auto mode lets the LLM phrase; factoid questions are answered by the reader.
_GENERATIVE = ("reason", "manner", "other")
# All embedding and generation in this process runs on this one thread. torch and
# llama.cpp keep OpenMP thread teams per calling thread; work spread over several
# threads (an index built on the main thread, answers streamed from a web
# server's workers) left generation 2-4x slower on two cores, measured through
# the chat page. Answers and index updates also queue behind each other here,
# which is what two cores want.
_COMPUTE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-compute")


class AnswerStream:
    """Iterate for text pieces; ``answer`` holds the full `Answer` once iteration ends."""

    def __init__(self, events: Generator[str, None, Answer]) -> None:
        self._events = events
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        self.answer = yield from self._events


class Assistant:
    """Answers questions about the articles in an index.

    Build with :meth:`build` (index or update a corpus, then load) or
    :meth:`load` (an existing index). The LLM loads on first generative use,
    so extractive answers start fast.
    """

    def __init__(
        self,
        index: Index,
        *,
        embedder: Embedder,
        llm: LLM | None = None,
        settings: Settings | None = None,
        index_dir: str | Path | None = None,
        reader: Reader | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings or Settings.from_env()
        self.index_dir = Path(index_dir or self.settings.index)
        self._llm = llm
        self._llm_lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self.reader = reader or Reader(embedder)
        self._exchanges = Exchanges()

    # -- construction ------------------------------------------------------
    @classmethod
    def build(
        cls,
        corpus: str | Path | Sequence[str | Path] = "corpus",
        index_dir: str | Path = "index",
        *,
        rebuild: bool = False,
        progress: bool = False,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
        reader: Reader | None = None,
        model: str | None = None,
        **settings,
    ) -> Assistant:
        """Index (or update the index of) ``corpus`` into ``index_dir``, then load it."""
        embedder = embedder or SentenceTransformerEmbedder()
        paths = [corpus] if isinstance(corpus, (str, Path)) else list(corpus)
        report = _COMPUTE.submit(update_index, paths, index_dir, embedder, rebuild=rebuild, progress=progress).result()
        assistant = cls.load(index_dir, embedder=embedder, llm=llm, reader=reader, model=model, **settings)
        assistant.last_report = report
        return assistant

    @classmethod
    def load(
        cls,
        index_dir: str | Path = "index",
        *,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
        reader: Reader | None = None,
        model: str | None = None,
        **settings,
    ) -> Assistant:
        """Load a built index."""
        s = Settings.from_env(index=str(index_dir), model=model, **settings)
        if s.model and llm is None:
            # A bad model path is an error now, not at the first answer that needs the model
            # (an abstention or an extractive answer would otherwise hide it).
            check_gguf(s.model)
        embedder = embedder or SentenceTransformerEmbedder()
        index = Index.load(index_dir, embedder)
        return cls(index, embedder=embedder, llm=llm, settings=s, index_dir=index_dir, reader=reader)

    @property
    def llm(self) -> LLM:
        with self._llm_lock:
            if self._llm is None:
                self._llm = LlamaCppLLM(self.settings.model, n_ctx=self.settings.n_ctx, threads=self.settings.threads)
            return self._llm

    @property
    def model_name(self) -> str:
        if self._llm is not None:
            return self._llm.name
        return Path(self.settings.model).name if self.settings.model else "SmolLM2-135M-Instruct.Q4_1.gguf"

    # -- corpus updates ----------------------------------------------------
    def add(self, paths: Sequence[str | Path], *, progress: bool = False) -> IndexReport:
        """Index more files (incrementally) and start answering from them."""
        report = _COMPUTE.submit(update_index, list(paths), self.index_dir, self.embedder, progress=progress).result()
        self.reload()
        return report

    def reload(self) -> None:
        """Switch to the index's live generation (after another process updated it)."""
        with self._reload_lock:
            self.index = Index.load(self.index_dir, self.embedder)

    # -- answering -----------------------------------------------------------
    def ask(
        self,
        question: str,
        history: Sequence[dict] | None = None,
        *,
        mode: str | None = None,
        k: int | None = None,
        as_of: str | None = None,
    ) -> Answer:
        """Answer one question; ``history`` is the earlier ``{"role", "content"}`` turns and
        ``as_of`` the day it is asked ("YYYY-MM-DD", default today): later articles are not used."""
        stream = self.stream(question, history, mode=mode, k=k, as_of=as_of)
        for _ in stream:
            pass
        assert stream.answer is not None
        return stream.answer

    def stream(
        self,
        question: str,
        history: Sequence[dict] | None = None,
        *,
        mode: str | None = None,
        k: int | None = None,
        as_of: str | None = None,
    ) -> AnswerStream:
        """Like :meth:`ask`, but yields the answer text as it is produced."""
        s = self.settings.with_overrides(mode=mode, k=k)
        day = parse_as_of(as_of or today())
        return AnswerStream(_on_thread(_COMPUTE, lambda: self._answered(question, history, s.mode, s.k, day)))

    def timeline(self, topic: str, *, as_of: str | None = None, k: int | None = None) -> Answer:
        """A dated digest of ``topic``: the best sentence of each of up to five days, in date order,
        each cited, as asking "How has <topic> developed?" gives (`rag.answer.news`)."""
        k = self.settings.with_overrides(k=k).k
        day = parse_as_of(as_of or today())
        topic = (topic or "").strip()[:MAX_QUESTION_CHARS]
        if not topic:
            raise RagError("the topic is empty; name what to follow, e.g.: rag timeline \"death toll\"")
        index = self.index
        return _COMPUTE.submit(lambda: timeline(index, self.embedder, self.reader, topic, k=k, as_of=day)).result()

    def retrieve(
        self, question: str, history: Sequence[dict] | None = None, *, k: int | None = None, as_of: str | None = None
    ) -> list[Passage]:
        """The ``k`` passages an answer to ``question`` would show as sources (no LLM).

        Follow-ups are retrieved with their conversation, exactly as :meth:`ask` does.
        """
        k = self.settings.with_overrides(k=k).k
        day = parse_as_of(as_of or today())
        text = (question or "").strip()[:MAX_QUESTION_CHARS]
        index = self.index
        return _COMPUTE.submit(lambda: plan(index, self.embedder, text, history, k=k, as_of=day, analyse=False).passages).result()

    def _answered(
        self, question: str, history: Sequence[dict] | None, mode: str, k: int, as_of: int | None
    ) -> Generator[str, None, Answer]:
        index = self.index  # one generation for the whole answer, even if a reload happens meanwhile
        answer = yield from self._answer(index, question, history, mode, k, as_of)
        answer.citations = with_copies(answer.citations, index.articles, lambda d: index.also_in(d, as_of))
        return answer

    def _answer(
        self, index: Index, question: str, history: Sequence[dict] | None, mode: str, k: int, as_of: int | None
    ) -> Generator[str, None, Answer]:
        t0 = time.perf_counter()
        notes: list[str] = []
        question = (question or "").strip()
        if not question:
            raise RagError("the question is empty; type a question about the articles")
        if len(question) > MAX_QUESTION_CHARS:
            question = question[:MAX_QUESTION_CHARS]
            notes.append(f"the question was trimmed to its first {MAX_QUESTION_CHARS} characters")
        if not index.chunks:
            raise RagError("the index has no articles yet; add some with: rag index corpus")
        p = plan(index, self.embedder, question, history, k=k, as_of=as_of)
        t_retrieved = time.perf_counter()
        reading = self.reader.read(p.question, p.vector, p.pool, index.articles, p.as_of, index.story_of)
        chose = False
        entry = self.reader.weights.choosers.get(self.model_name) if p.question.factoid and mode != "extractive" else None
        if entry and (mode == "generative" or entry.get("better_than_reader")):
            # This model's picks among the reader's short answers were measured to be worth trusting.
            chosen = read_with(self.llm, entry, p.resolution.question, reading, index.articles)
            if chosen is not None:
                reading, chose = chosen, True
        news = arrange(
            p.question, reading, p.passages, index.articles, p.window,
            lambda day: self.reader.read(p.question, p.vector, reports_of(index, p, day), index.articles, p.as_of, index.story_of),
            index.idf,
        )
        reading = news.reading
        t_evidence = time.perf_counter()
        answer = Answer(
            question=question, text="", mode="extractive", query=p.query, passages=p.passages, notes=notes,
            confidence=round(reading.confidence, 4), as_of=_day_text(as_of),
        )
        answer.timings = {"retrieval": t_retrieved - t0, "evidence": t_evidence - t_retrieved}
        if p.resolution.note:
            notes.append(p.resolution.note)
        if not reading.answerable and not news.digest:
            answer.abstained = True
            answer.text = abstention(reading.reason)
            if reading.ranked:
                answer.withheld = extractive(reading, index.articles, factoid=p.question.factoid)[0]
            answer.timings["first_token"] = answer.timings["total"] = time.perf_counter() - t0
            yield answer.text
            return answer
        guess = p.resolution.note or taken_to_mean(p.resolution, reading.best.text if reading.best else "")
        if guess and guess != p.resolution.note:
            notes.append(guess)
        lead = f"{guess} " if guess else ""
        if news.digest or news.differs:
            # Several dated or disagreeing reports: quoted as they are, never merged by a model.
            text, answer.citations = (
                digest(news.digest, index.articles, p.as_of) if news.digest else disagreement(news.differs, index.articles, p.as_of)
            )
            answer.text = lead + text
            answer.timings["first_token"] = answer.timings["total"] = time.perf_counter() - t0
            yield answer.text
            return answer
        use_llm = not chose and (
            mode == "generative" or (mode == "auto" and p.question.answer_class in _GENERATIVE and not _quote_suffices(p, reading))
        )
        if use_llm:
            answer.mode = "generative"
            out = Generated()
            started = False
            for piece in generate(
                self.llm, p.resolution.question, history, reading, index.articles, self._exchanges,
                max_tokens=self.settings.max_tokens, temperature=self.settings.temperature, out=out,
            ):
                if not started and lead:
                    piece = lead + piece
                started = True
                yield piece
            notes.extend(out.notes)
            answer.timings["generation"] = out.seconds
            if out.text:
                answer.text, answer.citations = lead + out.text, out.citations
                answer.timings["first_token"] = (out.first_token or time.perf_counter()) - t0
                answer.timings["total"] = time.perf_counter() - t0
                return answer
            notes.append("the generated answer was not supported by the articles; quoting them instead")
        text, citations, short = extractive(
            reading, index.articles, factoid=p.question.factoid, dated=p.question.answer_class == "number", as_of=p.as_of
        )
        answer.text, answer.citations, answer.short = lead + text, citations, short
        if chose:
            answer.mode = "generative"
            notes.append(f"{self.model_name} chose the short answer among the reader's best")
        answer.timings.setdefault("first_token", time.perf_counter() - t0)
        yield answer.text
        answer.timings["total"] = time.perf_counter() - t0
        return answer


_END = object()


def _on_thread(executor: ThreadPoolExecutor, make: Callable[[], Generator[str, None, Answer]]) -> Generator[str, None, Answer]:
    """Run a generator on ``executor``'s thread and relay its items (and return value) here."""
    out: queue.Queue = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        try:
            events = make()
            while True:
                try:
                    item = next(events)
                except StopIteration as done:
                    out.put((_END, done.value))
                    return
                out.put((None, item))
                if stop.is_set():
                    events.close()
                    out.put((_END, None))
                    return
        except BaseException as exc:  # noqa: BLE001 -- re-raised in the reader's thread
            out.put((exc, None))

    executor.submit(run)
    try:
        while True:
            tag, value = out.get()
            if tag is _END:
                return value
            if tag is not None:
                raise tag
            yield value
    finally:
        stop.set()


def _quote_suffices(p, reading) -> bool:
    """A sentence that holds every term of the question is already the best answer."""
    best = reading.best
    if best is None:
        return False
    from .answer.features import term_match
    from .text import content_terms

    terms = set(content_terms(best.text))
    return all(term_match(s, terms) for s in p.question.weights)


def _day_text(day: int | None) -> str | None:
    from datetime import date

    return None if day is None else date.fromordinal(day).isoformat()
