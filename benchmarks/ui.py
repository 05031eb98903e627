"""Chat-page benchmarks: streaming overhead against the Python API, and concurrent load.

    python benchmarks/ui.py stream [--questions N]   # page (browser) vs Assistant.ask, same questions
    python benchmarks/ui.py load [--sessions 10 --turns 3]

Both start `app.py` on a free port with a copy of the shipped corpus. `stream`
drives Debian's chromium with Playwright and times click -> final answer on
the page; the baseline is `Assistant.stream` in this process, same questions,
mode and k, measured in the same run, after the page (so this process's idle
models can't slow the app). Each side answers one warm-up question, then every
question once: new questions, as users ask them, so no answer is replayed from
llama.cpp's prompt cache. `load` drives gradio_client sessions in
threads, checks every answer arrived, that each session's server-side history
holds only its own turns, and reports wait percentiles.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
WARM_UP = "Which countries sent troops?"
QUESTIONS = [
    "Why did the protests start?",
    "What did Russia's foreign ministry claim?",
    "What happened to the mayor's office?",
    "What did Lukashenko say about NATO?",
    "How many people were arrested?",
]


def start_app(work: Path) -> tuple[subprocess.Popen, str]:
    shutil.copytree(ROOT / "corpus", work / "corpus")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(work / "app.log", "w")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--corpus", "corpus", "--index", "index"],
        cwd=work, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            time.sleep(1)
    proc.kill()
    raise SystemExit("app did not start; see " + str(work / "app.log"))


_TIME_ANSWER_JS = """
() => new Promise((resolve) => {
  const done = () => document.querySelector('#sources .source') ||
    [...document.querySelectorAll('#sources .sources-empty')].some((e) => e.innerText.includes('No source'));
  const t0 = performance.now();
  const obs = new MutationObserver(() => { if (done()) { obs.disconnect(); resolve(performance.now() - t0); } });
  obs.observe(document.body, { childList: true, subtree: true, characterData: true });
  document.querySelector('#ask').click();
})
"""


def bench_stream(url: str, work: Path, questions: list[str], mode: str) -> dict:
    from playwright.sync_api import sync_playwright

    from rag import Assistant

    page_times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#question textarea")
        page.click("text=Settings")
        page.get_by_label(mode).check()
        # One warm-up question (models loaded), then each question once, as a user
        # would ask it: new questions, so nothing is replayed from a cache.
        for i, q in enumerate([WARM_UP, *questions]):
            page.fill("#question textarea", q)
            # Timed inside the page: from the click to the finished answer's sources,
            # so Playwright's own polling is not counted.
            ms = page.evaluate(_TIME_ANSWER_JS)
            if i:
                page_times.append(ms / 1000)
            page.click("#new-chat")
            page.wait_for_function("() => !document.querySelector('#sources .source')")
        browser.close()
    # The baseline runs after the page, so this process's idle model threads can't
    # slow the app down while it is being timed.
    assistant = Assistant.load(work / "index", mode=mode)
    assistant.ask(WARM_UP)
    api = []
    for q in questions:
        t = time.perf_counter()
        for _ in assistant.stream(q):
            pass
        api.append(time.perf_counter() - t)
    ratio = statistics.median(page_times) / statistics.median(api)
    return {
        "mode": mode, "questions": len(questions),
        "api_median_s": round(statistics.median(api), 3), "page_median_s": round(statistics.median(page_times), 3),
        "ratio": round(ratio, 3), "goal": "<= 1.1", "met": ratio <= 1.1,
    }


def _text(content) -> str:
    """A chat message's text, whether the client returns a string or a list of parts."""
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content if isinstance(p, dict))


def bench_load(url: str, sessions: int, turns: int) -> dict:
    from gradio_client import Client

    topics = [
        ("Who is Belarus's leader?", "What did he tell the protesters to do?", "Lukashenko"),
        ("Who is the president of Kazakhstan?", "What did he call the demonstrators?", "Tokayev"),
        ("Who wrote about the U.S. Capitol on Facebook?", "What did she claim American authorities did?", "Zakharova"),
    ]
    waits: list[float] = []
    errors: list[str] = []
    leaks: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        first, follow, who = topics[i % len(topics)]
        client = Client(url, verbose=False)
        asked = [first, follow, "How many people were arrested?"][:turns]
        history: list = []
        for q in asked:
            t = time.perf_counter()
            try:
                _box, history, _sources = client.predict(q, history, "extractive", 5, api_name="/ask_turn")
            except Exception as exc:  # noqa: BLE001 -- a benchmark counts failures, it does not stop on them
                with lock:
                    errors.append(f"session {i}: {exc}")
                return
            with lock:
                waits.append(time.perf_counter() - t)
        users = [_text(m["content"]) for m in history if m["role"] == "user"]
        if users != asked:
            with lock:
                leaks.append(f"session {i}: {users}")
        if turns >= 2 and who not in json.dumps(history):
            with lock:
                leaks.append(f"session {i}: follow-up lost its own context ({who})")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(sessions)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    waits.sort()
    pct = lambda q: waits[min(len(waits) - 1, int(q * len(waits)))] if waits else None  # noqa: E731
    return {
        "sessions": sessions, "turns": turns, "answered": len(waits), "expected": sessions * turns,
        "errors": errors, "history_problems": leaks,
        "wait_p50_s": round(pct(0.5), 3) if waits else None, "wait_p95_s": round(pct(0.95), 3) if waits else None,
        "wall_s": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["stream", "load"])
    ap.add_argument("--questions", type=int, default=len(QUESTIONS))
    ap.add_argument("--mode", default="generative")
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--json", dest="json_file")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rag-ui-bench-"))
    proc, url = start_app(work)
    try:
        if args.what == "stream":
            result = bench_stream(url, work, QUESTIONS[: args.questions], args.mode)
        else:
            result = bench_load(url, args.sessions, args.turns)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(json.dumps(result, indent=1))
    if args.json_file:
        Path(args.json_file).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
