"""`python app.py` serves the chat page and the OpenAI-compatible /v1 API from one process, behind one --auth."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from conftest import ARRESTED, ARRESTED_SENTENCE
from test_openai_api import free_port

from rag.openai_api import MODEL_ID

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
USER, PASS = "reader", "news-pass"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    work = tmp_path_factory.mktemp("app-api")
    shutil.copytree(ROOT / "corpus", work / "corpus")
    port = free_port()
    log = open(work / "app.log", "w")  # noqa: SIM115 -- closed below
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port), "--corpus", str(work / "corpus"),
         "--index", str(work / "index"), "--auth", f"{USER}:{PASS}"],
        cwd=work, stdout=log, stderr=subprocess.STDOUT,
        env=dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                pytest.fail("app exited:\n" + (work / "app.log").read_text())
            try:
                httpx.get(base + "/", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(1)
        else:
            pytest.fail("app did not start:\n" + (work / "app.log").read_text())
        yield base
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_the_api_needs_the_auth_password_as_bearer_token(app):
    assert httpx.get(app + "/v1/models").status_code == 401
    assert httpx.get(app + "/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = httpx.get(app + "/v1/models", headers={"Authorization": f"Bearer {PASS}"})
    assert r.status_code == 200 and r.json()["data"][0]["id"] == MODEL_ID


def test_the_api_and_the_page_answer_alike_from_one_process(app):
    from gradio_client import Client

    client = openai.OpenAI(base_url=app + "/v1", api_key=PASS, max_retries=0)
    reply = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": ARRESTED}])
    text = reply.choices[0].message.content
    assert ARRESTED_SENTENCE in text
    assert reply.model_extra["citations"][0]["quote"] == ARRESTED_SENTENCE
    page = Client(app + "/", auth=(USER, PASS), verbose=False)
    assert page.predict(ARRESTED, api_name="/chat") == text
