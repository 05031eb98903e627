"""The one compute thread: all local embedding and generation in a process runs on it.

torch and llama.cpp keep OpenMP thread teams per calling thread; work spread
over several threads (an index built on the main thread, answers streamed from a
web server's workers) left generation 2-4x slower on two cores, measured through
the chat page. Answers and index updates also queue behind each other here,
which is what two cores want.

The thread starts on first use, not at import. `submit` runs a call on it,
`relay` runs a generator on it and hands its items (and return value) to the
calling thread, and `OnCompute` wraps an embedder so that code running elsewhere
(an answer whose LLM is a remote server) still embeds on this thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

__all__ = ["submit", "run", "relay", "on_compute_thread", "OnCompute"]

T = TypeVar("T")
_NAME = "rag-compute"
_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=_NAME)
        return _executor


def on_compute_thread() -> bool:
    return threading.current_thread().name.startswith(_NAME)


def submit(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Queue ``fn(*args, **kwargs)`` on the compute thread."""
    return _pool().submit(fn, *args, **kwargs)


def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on the compute thread, waited for; called from that thread, it runs in place
    (queueing behind itself would deadlock)."""
    if on_compute_thread():
        return fn(*args, **kwargs)
    return submit(fn, *args, **kwargs).result()


_END = object()


def relay(make: Callable[[], Generator[Any, None, T]]) -> Generator[Any, None, T]:
    """Run the generator ``make()`` on the compute thread; yield its items here and return its value.

    Closing the relay early (a client that went away) stops the generator after its current item.
    """
    out: queue.Queue = queue.Queue()
    stop = threading.Event()

    def work() -> None:
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
        except BaseException as exc:  # noqa: BLE001 -- re-raised in the consumer's thread
            out.put((exc, None))

    submit(work)
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


class OnCompute:
    """An embedder whose calls run on the compute thread, whichever thread makes them."""

    def __init__(self, embedder) -> None:
        self.inner = embedder

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        return run(self.inner.embed, texts, progress=progress)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return run(self.inner.count_tokens, texts)

    def __getattr__(self, name: str):  # name, dim, max_tokens, precision and the like, read from the embedder
        if name == "inner":  # not set yet (a copy being made): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)
