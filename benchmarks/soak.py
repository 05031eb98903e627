"""Soak: many questions through the Python API, then through the chat page; memory must stay flat.

    python benchmarks/soak.py [--api 500] [--page 200] [--json FILE]

Questions cycle through the seed gold set (answerable, unanswerable and
follow-ups with their history) in the default auto mode, so extractive and
generative answers, abstentions and follow-ups all recur. Resident memory is
read after a warm-up (the first pass over the gold set: models loaded, caches
filled) and at the end; the goal is growth of at most 10%. Every error is
counted. The page half starts `app.py` (as `benchmarks/ui.py` does) and asks
through the page's own answering endpoint with gradio_client, one session per
conversation, and reads the app process's memory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _questions():
    from bench.common import SEED_GOLD

    from rag.evaluation import load_gold

    return load_gold(SEED_GOLD)


def _summary(name: str, n: int, warm: float, end: float, errors: list[str], seconds: float) -> dict:
    growth = (end - warm) / warm
    return {
        "name": name, "questions": n, "rss_after_warmup_mb": round(warm, 1), "rss_end_mb": round(end, 1),
        "growth": round(growth, 4), "goal": "<= 0.10", "met": growth <= 0.10 and not errors,
        "errors": len(errors), "first_errors": errors[:5], "seconds": round(seconds, 1),
    }


def soak_api(n: int, work: Path) -> dict:
    import shutil

    from rag import Assistant

    shutil.copytree(ROOT / "corpus", work / "corpus")
    assistant = Assistant.build(work / "corpus", work / "index")
    items = _questions()
    errors: list[str] = []
    warm = None
    t0 = time.perf_counter()
    for i in range(n):
        item = items[i % len(items)]
        try:
            answer = assistant.ask(item.question, item.history or None)
            assert answer.text
        except Exception as exc:  # noqa: BLE001 -- a soak counts failures, it does not stop on them
            errors.append(f"{item.id}: {exc!r}")
        if i == len(items) - 1:
            warm = rss_mb()
    return _summary("api", n, warm or rss_mb(), rss_mb(), errors, time.perf_counter() - t0)


def soak_page(n: int, work: Path) -> dict:
    from gradio_client import Client
    from ui import start_app

    proc, url = start_app(work)
    items = _questions()
    errors: list[str] = []
    warm = None
    t0 = time.perf_counter()
    client = Client(url, verbose=False)
    try:
        for i in range(n):
            item = items[i % len(items)]
            # A new session per question: its server-side history is the gold history.
            client.reset_session()
            try:
                for turn in item.history:
                    if turn["role"] == "user":
                        client.predict(turn["content"], [], "auto", 5, api_name="/ask_turn")
                _box, history, _sources = client.predict(item.question, [], "auto", 5, api_name="/ask_turn")
                text = json.dumps(history[-1]["content"])
                if "Something went wrong" in text or "⚠️" in text:
                    errors.append(f"{item.id}: {text[:200]}")
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{item.id}: {exc!r}")
            if i == len(items) - 1:
                warm = rss_mb(proc.pid)
        end = rss_mb(proc.pid)
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=30)
    log = (work / "app.log").read_text(errors="replace")
    if "Traceback" in log:
        errors.append("traceback in the app log")
    return _summary("page", n, warm or end, end, errors, time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--api", type=int, default=500)
    ap.add_argument("--page", type=int, default=200)
    ap.add_argument("--json", dest="json_file")
    args = ap.parse_args()
    results = []
    if args.api:
        results.append(soak_api(args.api, Path(tempfile.mkdtemp(prefix="rag-soak-api-"))))
        print(json.dumps(results[-1]), flush=True)
    if args.page:
        results.append(soak_page(args.page, Path(tempfile.mkdtemp(prefix="rag-soak-page-"))))
        print(json.dumps(results[-1]), flush=True)
    if args.json_file:
        Path(args.json_file).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
