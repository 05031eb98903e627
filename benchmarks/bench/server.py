"""Generation through an OpenAI-compatible server against the same model in-process.

`llama_server` starts llama-cpp-python's own server (``python -m llama_cpp.server``,
from the ``[server]`` extra) on a free localhost port with the model loaded as
`rag.llm.LlamaCppLLM` loads it; the tests use it too. `server_overhead` asks the
seed gold set's questions in generative mode both ways, in the same run, and
reports the median per-answer total latency through the server as a ratio of
in-process (goal <= 1.1x), checking that the answers are the same.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .common import SEED_GOLD, Figure, not_measured

__all__ = ["llama_server", "server_overhead", "SERVED_ALIAS"]

SERVED_ALIAS = "served-model"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def llama_server(model: str | Path | None = None, *, n_ctx: int = 2048, startup_s: float = 120.0) -> Iterator[str]:
    """A running llama.cpp server's ``/v1`` URL, with ``model`` (default: the shipped GGUF); stopped on exit."""
    import httpx

    from rag.config import available_cores
    from rag.llm import shipped_model_path

    cores = str(available_cores())
    port = _free_port()
    log = tempfile.NamedTemporaryFile("w+b", prefix="llama-server-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model or shipped_model_path()),
         "--model_alias", SERVED_ALIAS, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
         "--n_batch", "512", "--seed", "0", "--n_threads", cores, "--n_threads_batch", cores, "--verbose", "False"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}; see {log.name}")
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not start in {startup_s:.0f} s; see {log.name}")
            time.sleep(0.1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        log.close()
        os.unlink(log.name)


def server_overhead(seed_index: Path, embedder, model: str | None, limit: int | None) -> Figure:
    """Median total seconds per generated answer through the server, against in-process."""
    from rag import Assistant
    from rag.evaluation import load_gold

    goal = "<= 1.1x in-process, same answers"
    try:
        import llama_cpp.server  # noqa: F401 -- only to say clearly when the extra is missing
    except ImportError:
        return not_measured("llm_server_overhead", goal, "pip install 'llama-cpp-python[server]'")
    questions = [g.question for g in load_gold(SEED_GOLD) if g.answers][:limit]
    local = Assistant.load(seed_index, embedder=embedder, model=model, mode="generative")
    times: dict[str, list[float]] = {"in-process": [], "server": []}
    texts: dict[str, list[str]] = {"in-process": [], "server": []}
    with llama_server(model) as url:
        served = Assistant.load(seed_index, embedder=embedder, reader=local.reader, llm_url=url, mode="generative")
        served.ask(questions[0])  # warm the server's first request, as the in-process model is warmed
        local.ask(questions[0])
        for q in questions:  # interleaved, so drift on a shared machine hits both alike
            for name, assistant in (("in-process", local), ("server", served)):
                answer = assistant.ask(q)
                times[name].append(answer.timings["total"])
                texts[name].append(answer.text)
    base, value = statistics.median(times["in-process"]), statistics.median(times["server"])
    same = sum(a == b for a, b in zip(texts["in-process"], texts["server"]))
    ratio = value / base if base else None
    return Figure(
        "llm_server_overhead", value, "s", base, "in-process median total per answer", ratio, goal,
        None if ratio is None else (ratio <= 1.1 and same == len(questions)),
        f"{len(questions)} seed questions, generative mode; llama_cpp.server on localhost with the same GGUF; "
        f"{same}/{len(questions)} answers identical",
    )
