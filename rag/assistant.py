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
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .embedder import Embedder, SentenceTransformerEmbedder
from .errors import RagError
from .evidence import Evidence, EvidenceFinder, EvidenceResult
from .index import Index
from .indexer import IndexReport, update_index
from .llm import LLM, LlamaCppLLM
from .prompts import NOT_FOUND, EvidenceLine, build_messages, continue_messages
from .question import analyze, follow_up_context, resolve_referent
from .text import split_sentences
from .types import Answer, Article, Citation, Passage
from .verify import check_support, strip_markers

__all__ = ["Assistant", "AnswerStream", "ABSTAIN_PREFIX", "MAX_QUESTION_CHARS"]

ABSTAIN_PREFIX = "The indexed articles don't say"
MAX_QUESTION_CHARS = 2000  # longer questions are trimmed, and the answer says so
_GENERATIVE_TYPES = ("reason", "other")
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


@dataclass
class _Turn:
    """Per-question working state."""

    question: str
    mode: str
    k: int
    started: float


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
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings or Settings.from_env()
        self.index_dir = Path(index_dir or self.settings.index)
        self._llm = llm
        self._llm_lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self.finder = EvidenceFinder(embedder)
        # (question, answer text) -> (messages sent, raw reply, last evidence number) of recent
        # generated answers, so a follow-up can extend that prompt. Only the compute thread uses it.
        self._exchanges: dict[tuple[str, str], tuple[list[dict], str, int]] = {}

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
        model: str | None = None,
        **settings,
    ) -> Assistant:
        """Index (or update the index of) ``corpus`` into ``index_dir``, then load it."""
        embedder = embedder or SentenceTransformerEmbedder()
        paths = [corpus] if isinstance(corpus, (str, Path)) else list(corpus)
        report = _COMPUTE.submit(update_index, paths, index_dir, embedder, rebuild=rebuild, progress=progress).result()
        assistant = cls.load(index_dir, embedder=embedder, llm=llm, model=model, **settings)
        assistant.last_report = report
        return assistant

    @classmethod
    def load(
        cls,
        index_dir: str | Path = "index",
        *,
        embedder: Embedder | None = None,
        llm: LLM | None = None,
        model: str | None = None,
        **settings,
    ) -> Assistant:
        """Load a built index."""
        s = Settings.from_env(index=str(index_dir), model=model, **settings)
        embedder = embedder or SentenceTransformerEmbedder()
        index = Index.load(index_dir, embedder)
        return cls(index, embedder=embedder, llm=llm, settings=s, index_dir=index_dir)

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
        self, question: str, history: Sequence[dict] | None = None, *, mode: str | None = None, k: int | None = None
    ) -> Answer:
        """Answer one question; ``history`` is the earlier ``{"role", "content"}`` turns."""
        stream = self.stream(question, history, mode=mode, k=k)
        for _ in stream:
            pass
        assert stream.answer is not None
        return stream.answer

    def stream(
        self, question: str, history: Sequence[dict] | None = None, *, mode: str | None = None, k: int | None = None
    ) -> AnswerStream:
        """Like :meth:`ask`, but yields the answer text as it is produced."""
        s = self.settings.with_overrides(mode=mode, k=k)
        return AnswerStream(_on_thread(_COMPUTE, lambda: self._answer(question, history, s.mode, s.k)))

    def retrieve(self, question: str, history: Sequence[dict] | None = None, *, k: int | None = None) -> list[Passage]:
        """The ``k`` passages an answer to ``question`` would be drawn from (no LLM).

        Follow-ups are retrieved with their conversation, exactly as :meth:`ask` does.
        """
        k = self.settings.with_overrides(k=k).k
        _context, _referent, query = _query((question or "").strip()[:MAX_QUESTION_CHARS], history)
        index = self.index
        return _COMPUTE.submit(lambda: index.search(query, k, query_vector=self.embedder.embed([query])[0])).result()

    def _answer(
        self, question: str, history: Sequence[dict] | None, mode: str, k: int
    ) -> Generator[str, None, Answer]:
        t0 = time.perf_counter()
        notes: list[str] = []
        question = (question or "").strip()
        if not question:
            raise RagError("the question is empty; type a question about the articles")
        if len(question) > MAX_QUESTION_CHARS:
            question = question[:MAX_QUESTION_CHARS]
            notes.append(f"the question was trimmed to its first {MAX_QUESTION_CHARS} characters")
        index = self.index  # one generation for the whole answer, even if a reload happens meanwhile
        if not index.chunks:
            raise RagError("the index has no articles yet; add some with: rag index corpus")
        context, referent, query = _query(question, history)
        q = analyze(question, context, referent)
        qvec = self.embedder.embed([query])[0]
        passages = index.search(query, k, query_vector=qvec)
        t_retrieved = time.perf_counter()
        found = self.finder.find(q, passages, index.articles, qvec)
        t_evidence = time.perf_counter()
        answer = Answer(question=question, text="", mode="extractive", query=query, passages=passages, notes=notes)
        answer.timings = {"retrieval": t_retrieved - t0, "evidence": t_evidence - t_retrieved}
        if not found.answerable:
            answer.abstained = True
            answer.text = f"{ABSTAIN_PREFIX}: {found.reason}." if found.reason else f"{ABSTAIN_PREFIX}."
            answer.timings["first_token"] = answer.timings["total"] = time.perf_counter() - t0
            yield answer.text
            return answer
        use_llm = mode == "generative" or (mode == "auto" and q.qtype in _GENERATIVE_TYPES and not _quote_suffices(found))
        if use_llm:
            answer.mode = "generative"
            produced = yield from self._generate(question, history, found, index.articles, answer, t0)
            if produced:
                answer.timings["total"] = time.perf_counter() - t0
                return answer
            notes.append("the generated answer was not supported by the articles; quoting them instead")
        answer.mode = "extractive" if not use_llm else "generative"
        text, citations = _quote(found, index.articles, q.qtype)
        answer.text, answer.citations = text, citations
        answer.timings.setdefault("first_token", time.perf_counter() - t0)
        yield text
        answer.timings["total"] = time.perf_counter() - t0
        return answer

    def _generate(
        self,
        question: str,
        history: Sequence[dict] | None,
        found: EvidenceResult,
        articles: dict[str, Article],
        answer: Answer,
        t0: float,
    ) -> Generator[str, None, bool]:
        """Stream checked sentences from the LLM; False when none survived."""
        ev = _evidence_set(found, limit=4)
        llm = self.llm
        budget = llm.n_ctx - self.settings.max_tokens - 16
        prior = self._exchanges.get(_last_exchange(history))
        messages = None
        if prior:  # a follow-up to an answer generated here: extend that exact prompt (KV cache reuse)
            lines = _evidence_lines(ev, articles, first=prior[2] + 1)
            messages = continue_messages(prior[0], prior[1], question, lines, count_tokens=llm.count_tokens, budget=budget)
        if messages is None:
            lines = _evidence_lines(ev, articles, first=1)
            messages = build_messages(question, lines, history, count_tokens=llm.count_tokens, budget=budget)
        texts = [s.text for _, s in ev]
        citations: dict[tuple[str, int], Citation] = {}
        parts: list[str] = []
        raw: list[str] = []
        t_gen = time.perf_counter()
        tokens = llm.stream_chat(messages, max_tokens=self.settings.max_tokens, temperature=self.settings.temperature)
        for piece in _sentences_from(_recorded(tokens, raw)):
            buffer = strip_markers(piece)
            if not buffer or NOT_FOUND.lower() in buffer.lower():
                continue
            support = check_support(buffer, texts, question)
            if not support.supported:
                answer.notes.append(f"dropped an unsupported sentence ({support.reason}): {buffer}")
                continue
            marks = []
            for src in support.sources:
                e, s = ev[src]
                key = (e.doc_id, s.start)
                if key not in citations:
                    citations[key] = _citation(len(citations) + 1, e, s, articles[e.doc_id])
                marks.append(f"[{citations[key].n}]")
            out = _attach(buffer, marks)
            text = out if not parts else " " + out
            if not parts:
                answer.timings["first_token"] = time.perf_counter() - t0
            parts.append(out)
            yield text
        answer.timings["generation"] = time.perf_counter() - t_gen
        if not parts:
            return False
        answer.text = " ".join(parts)
        answer.citations = sorted(citations.values(), key=lambda c: c.n)
        self._exchanges[(question, answer.text)] = (messages, "".join(raw), lines[-1].n)
        while len(self._exchanges) > 64:  # a few recent conversations per process
            self._exchanges.pop(next(iter(self._exchanges)))
        return True


_END = object()


def _evidence_lines(ev: list[tuple[Evidence, object]], articles: dict[str, Article], *, first: int) -> list[EvidenceLine]:
    """The evidence sentences as the model sees them, numbered from ``first``."""
    return [
        EvidenceLine(first + i, s.text, articles[e.doc_id].title, articles[e.doc_id].published)
        for i, (e, s) in enumerate(ev)
    ]


def _last_exchange(history: Sequence[dict] | None) -> tuple[str, str] | None:
    """(question, answer) of the conversation's last turn, if it ends with one."""
    if not history or len(history) < 2:
        return None
    user, reply = history[-2], history[-1]
    if user.get("role") != "user" or reply.get("role") != "assistant":
        return None
    return (str(user.get("content", "")).strip(), str(reply.get("content", "")))


def _recorded(tokens: Iterator[str], into: list[str]) -> Iterator[str]:
    for t in tokens:
        into.append(t)
        yield t


def _query(question: str, history: Sequence[dict] | None) -> tuple[str, str, str]:
    """(conversation context, resolved referent, retrieval query) for a question."""
    context = follow_up_context(question, history)
    referent = resolve_referent(question, history)
    return context, referent, " ".join(p for p in (question, referent, context) if p)


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


def _quote_suffices(found: EvidenceResult) -> bool:
    """A sentence that covers the whole question is already the best answer."""
    best = found.best
    return best is not None and best.coverage >= 0.95


def _evidence_set(found: EvidenceResult, limit: int) -> list[tuple[Evidence, object]]:
    """The top evidence sentences, each preceded by its antecedent when it needs one."""
    out = []
    seen = set()
    for e in found.ranked[:limit]:
        for s in ([e.context] if e.context else []) + [e.sentence]:
            key = (e.doc_id, s.start)
            if key not in seen:
                seen.add(key)
                out.append((e, s))
    return out


def _attach(sentence: str, marks: list[str]) -> str:
    """Put citation markers at the end of a sentence, before nothing else."""
    return f"{sentence.rstrip()} {''.join(marks)}"


def _citation(n: int, e: Evidence, s, article: Article) -> Citation:
    chunk = e.passage.chunk
    return Citation(
        n=n,
        doc_id=e.doc_id,
        title=article.title,
        published=article.published,
        text=chunk.text,
        start=s.start,
        end=s.end,
        score=round(e.score, 4),
        quote=article.text[s.start : s.end],
        url=article.url,
        chunk_id=chunk.id,
        passage_start=chunk.start,
    )


def _quote(found: EvidenceResult, articles: dict[str, Article], qtype: str) -> tuple[str, list[Citation]]:
    """The extractive answer: the best sentence (with its antecedent), each cited."""
    best = found.best
    assert best is not None
    picks: list[tuple[Evidence, object]] = []
    if best.context is not None:
        picks.append((best, best.context))
    picks.append((best, best.sentence))
    if qtype == "reason" and len(found.ranked) > 1:
        second = found.ranked[1]
        if second.score >= 0.9 * best.score and second.coverage >= 0.5 and second.sentence.start != best.sentence.start:
            picks.append((second, second.sentence))
    parts, citations = [], []
    for i, (e, s) in enumerate(picks, start=1):
        citations.append(_citation(i, e, s, articles[e.doc_id]))
        parts.append(_attach(s.text, [f"[{i}]"]))
    return " ".join(parts), citations


def _sentences_from(tokens: Iterator[str]) -> Iterator[str]:
    """Group streamed tokens into complete sentences."""
    buffer = ""
    for tok in tokens:
        buffer += tok
        sents = split_sentences(buffer)
        if len(sents) > 1:
            for s in sents[:-1]:
                yield s.text
            buffer = buffer[sents[-1].start :]
    if buffer.strip():
        yield buffer.strip()
