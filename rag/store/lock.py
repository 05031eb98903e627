"""One writer at a time per store, and a waiting writer told who it waits for.

SQLite (and tantivy) lock their own files, but only for the moment of a write; an
index run plans, embeds for minutes and then commits, and two runs planning from
the same state would each embed the same files. So the whole run holds an advisory
lock (``flock``, released by the kernel when its holder dies, even by SIGKILL), and
the lock file records the holder's pid and command for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import RagError

__all__ = ["writer_lock"]


@contextlib.contextmanager
def writer_lock(path: Path, *, wait: bool = True, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the lock file ``path``; with ``wait`` False a held lock is a `RagError` naming its holder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    held = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(path)
            if not wait:
                raise RagError(f"another process is writing the index ({holder}); try again when it finishes") from None
            if on_wait:
                on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        held = True
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "since": time.time(), "cmd": _cmdline()}).encode())
        yield
    finally:
        if held:  # a writer that never got the lock must not erase the holder's name
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
        os.close(fd)  # closing releases the flock


def _cmdline() -> str:
    try:
        return Path(f"/proc/{os.getpid()}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _read_holder(path: Path) -> str:
    try:
        d = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        d = {}
    if not d:
        return "unknown holder"
    return f"pid {d.get('pid')}: {d.get('cmd') or 'unknown command'}"
