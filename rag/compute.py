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

__all__ = ["submit", "run", "relay", "on_compute_thread", "OnCompute", "pool"]

T = TypeVar("T")
_NAME = "rag-compute"
_pools: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def pool(name: str, workers: int = 1) -> ThreadPoolExecutor:
    """The process's pool of threads called ``name``, made on first use. The compute thread is
    one; the others are for work beside it that runs no model (keyword search while a query is
    embedded, the halves of a vector scan), so they never start an OpenMP team of torch's or
    llama.cpp's."""
    with _lock:
        if name not in _pools:
            _pools[name] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        return _pools[name]


def _pool() -> ThreadPoolExecutor:
    return pool(_NAME)


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
