"""End to end in a real browser: Debian's chromium driven by Playwright against `python app.py`.

The test starts the app (on a free port, with a copy of the shipped corpus) and
the browser itself, asks, follows up, uploads an article and checks that an
article holding a script payload is shown as text. It saves a screenshot to
``out/ui-chat.png``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"),
]

UPLOADED = """Ferry capsizes on Lake Victoria

A passenger ferry carrying 120 people capsized on Lake Victoria on Monday, officials said.

At least 45 people were rescued by fishermen, according to the regional police.

<script>alert('xss')</script><img src=x onerror="alert(1)"> The ferry operator said the vessel had been inspected in March.
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    work = tmp_path_factory.mktemp("app")
    shutil.copytree(ROOT / "corpus", work / "corpus")
    port = _free_port()
    log = open(work / "app.log", "w")
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--corpus", str(work / "corpus"), "--index", str(work / "index")],
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("app exited:\n" + (work / "app.log").read_text())
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        raise RuntimeError("app did not start:\n" + (work / "app.log").read_text())
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def _last_bot_text(page) -> str:
    return page.locator('[data-testid="bot"]').last.inner_text()


def _ask(page, question: str, expect: str, timeout: float = 120_000) -> str:
    before = page.locator('[data-testid="bot"]').count()
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(
        "([n, want]) => { const b = document.querySelectorAll('[data-testid=\"bot\"]');"
        " return b.length > n && b[b.length - 1].innerText.includes(want); }",
        arg=[before, expect],
        timeout=timeout,
    )
    return _last_bot_text(page)


def test_chat_page_end_to_end(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        # 1. the page loads, with example questions in an empty chat
        page.goto(app_url)
        page.wait_for_selector("#question textarea", timeout=60_000)
        assert "How many people were arrested?" in page.content()

        # 2-3. a question about the seed article streams an answer with a citation,
        # and the sources panel highlights the cited sentence
        answer = _ask(page, "How many people were arrested?", "2,000")
        assert "[1]" in answer
        page.wait_for_selector("#sources mark.cited")
        assert "2,000" in page.locator("#sources mark.cited").first.inner_text()
        assert "Dozens" in page.locator("#sources").inner_text()  # the article's title

        # 4. a follow-up is answered from the conversation
        _ask(page, "Who is the president of Kazakhstan?", "Tokayev")
        follow = _ask(page, "Whose handpicked successor is he?", "Nazarbayev")
        assert "[" in follow

        # 5. upload a new article and ask about it
        upload = tmp_path / "ferry.txt"
        upload.write_text(UPLOADED, encoding="utf-8")
        page.click("text=Add articles")
        page.locator("input[type=file]").first.set_input_files(str(upload))
        page.wait_for_timeout(1500)
        page.click("#add-files")
        page.wait_for_function(
            "() => document.querySelector('#add-status') && document.querySelector('#add-status').innerText.includes('Added')",
            timeout=180_000,
        )
        assert "2 articles" in page.locator("#stats").inner_text()
        rescued = _ask(page, "How many people were rescued from the ferry?", "45")
        assert "[1]" in rescued

        # 6. an article holding a script payload is shown as text and runs nothing
        said = _ask(page, "What did the ferry operator say about the vessel?", "inspected")
        assert "inspected in March" in said
        page.wait_for_timeout(500)
        assert dialogs == []  # the payload near the quoted sentence ran nothing
        page.click("#open-source")
        page.wait_for_function(
            "() => document.querySelector('#article') && document.querySelector('#article').innerText.includes('Ferry')",
            timeout=30_000,
        )
        article_text = page.locator("#article").inner_text()
        assert "<script>alert('xss')</script>" in article_text
        assert page.locator("#article script").count() == 0
        assert page.locator("#article img").count() == 0
        page.wait_for_timeout(500)
        assert dialogs == []

        out = ROOT / "out"
        out.mkdir(exist_ok=True)
        page.screenshot(path=str(out / "ui-chat.png"), full_page=True)
        browser.close()


def test_eval_report_opens_in_chromium(seed_assistant, tmp_path):
    """The `rag eval --report` page renders without a single browser error, and its failed
    questions expand to show their retrieved passages. Saves ``out/eval-report.png``."""
    from playwright.sync_api import sync_playwright

    from rag.evaluation import eval_result, load_gold, run_eval
    from rag.evaluation.report import render_report

    gold = tmp_path / "gold.jsonl"
    # The seed questions, and one whose gold answer no article holds: a failure to show is certain.
    lines = (ROOT / "tests" / "gold" / "seed.jsonl").read_text(encoding="utf-8").splitlines()[:10]
    lines.append('{"id": "impossible", "question": "How many people were arrested?", "answers": ["7,777"]}')
    gold.write_text("\n".join(lines) + "\n", encoding="utf-8")
    metrics, rows, interrupted = run_eval(seed_assistant, load_gold(gold), mode="extractive")
    page_file = tmp_path / "report.html"
    page_file.write_text(render_report(eval_result(seed_assistant, gold, metrics, rows, interrupted)), encoding="utf-8")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: errors.append(f"fetched {r.url}") if not r.url.startswith("file:") else None)
        page.goto(page_file.as_uri())
        assert page.locator("#metrics").is_visible()
        assert "answerable_accuracy" in page.locator("#metrics").inner_text()
        assert page.locator("svg[aria-label='risk-coverage curve']").is_visible()
        failed = page.locator("details.q")
        assert failed.count() >= 1
        impossible = failed.filter(has_text="impossible").first
        impossible.locator("summary").click()
        assert impossible.locator(".passage").first.is_visible()
        out = ROOT / "out"
        out.mkdir(exist_ok=True)
        page.screenshot(path=str(out / "eval-report.png"))
        browser.close()
    assert errors == []
