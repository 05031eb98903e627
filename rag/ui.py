"""The Gradio chat page: streamed cited answers, a sources panel, uploads and settings.

`build_ui(assistant)` returns the Blocks app; `app.py` only parses flags and
launches it. Generation runs in one queue slot ("generate"), shared by the page
and the `/chat` API, so two answers never fight over the CPU and waiting users
see their place in the queue. Index updates run in their own slot and swap the
index atomically, so answers in flight keep reading the generation they began with.
"""

from __future__ import annotations

import html
import json
import logging
import time
from pathlib import Path

from .assistant import Assistant
from .errors import RagError
from .web import UPLOAD_SUFFIXES, answer_markdown, article_html, save_pasted, save_upload, sources_html

__all__ = ["build_ui", "EXAMPLES", "UI_UPDATE_INTERVAL", "CSS"]

log = logging.getLogger("rag.ui")

EXAMPLES = [
    "How many people were arrested?",
    "What caused the protests?",
    "What did Tokayev call the demonstrators?",
    "Which countries sent troops?",
]
# Seconds between page updates while an answer streams: a few per second is smooth
# to read and leaves the cores to generation.
UI_UPDATE_INTERVAL = 0.25

CSS = """
.source { border-left: 3px solid #6b8afd; padding: 6px 10px; margin: 8px 0; background: rgba(107,138,253,.06); }
.source-head { font-weight: 600; margin-bottom: 4px; }
.source .marker { color: #3b5bdb; }
.source .also-in { color: #666; font-size: 0.9em; margin-top: 4px; }
.passage, .article-text { white-space: pre-wrap; line-height: 1.45; }
mark.cited { background: #ffe58a; padding: 0 2px; }
.sources-empty { color: #888; font-style: italic; }
.stats { color: #666; font-size: .9em; }
"""


def _stats_line(assistant: Assistant) -> str:
    s = assistant.index.stats()
    return f"{s['articles']} articles · {s['chunks']} chunks indexed · model: {assistant.model_name}"


def build_ui(assistant: Assistant, *, corpus_dir: str | Path = "corpus", max_upload_bytes: int = 10 * 1024 * 1024):
    """The chat page for ``assistant``; uploads are saved under ``corpus_dir``."""
    import gradio as gr

    corpus_dir = Path(corpus_dir)

    def respond(message: str, history: list[dict], turns: list[dict], mode: str, k: int, as_of: str = ""):
        """Stream one answer into the chat; ``turns`` is this browser session's plain-text history."""
        message = (message or "").strip()
        if not message:
            yield gr.update(), history, gr.update(), turns, gr.update()
            return
        started = time.monotonic()
        history = history + [{"role": "user", "content": message}, {"role": "assistant", "content": "…"}]
        yield "", history, sources_html(None), turns, gr.update()
        try:
            stream = assistant.stream(message, turns, mode=mode, k=int(k), as_of=(as_of or "").strip() or None)
            text, last = "", 0.0
            for piece in stream:
                text += piece
                now = time.monotonic()
                if now - last >= UI_UPDATE_INTERVAL:
                    last = now
                    history[-1] = {"role": "assistant", "content": answer_markdown(None, text)}
                    yield gr.update(), history, gr.update(), turns, gr.update()
            answer = stream.answer
        except RagError as exc:
            history[-1] = {"role": "assistant", "content": f"> ⚠️ {html.escape(str(exc), quote=False)}"}
            yield gr.update(), history, sources_html(None), turns, gr.update()
            return
        except Exception:  # noqa: BLE001 -- users get a short message, the log gets the traceback
            log.exception("answering failed")
            history[-1] = {"role": "assistant", "content": "> ⚠️ Something went wrong; see the server log."}
            yield gr.update(), history, sources_html(None), turns, gr.update()
            return
        log.info("answered in %.2fs: %s", time.monotonic() - started, {name: round(v, 3) for name, v in answer.timings.items()})
        history[-1] = {"role": "assistant", "content": answer_markdown(answer)}
        turns = turns + [{"role": "user", "content": message}, {"role": "assistant", "content": answer.text}]
        yield gr.update(), history, sources_html(answer), turns, answer_payload(answer)

    def answer_payload(answer) -> str:
        # Remember the latest citations for "open source" without another model call.
        return json.dumps([[c.n, c.doc_id, c.start, c.end] for c in answer.citations])

    def open_source(n: float, payload: str) -> str:
        try:
            cites = {int(c[0]): c for c in json.loads(payload or "[]")}
        except ValueError:
            cites = {}
        c = cites.get(int(n or 0))
        if c is None:
            return '<div class="sources-empty">Pick a citation number from the latest answer.</div>'
        article = assistant.index.articles.get(c[1])
        if article is None:
            return '<div class="sources-empty">That article is no longer indexed.</div>'
        return article_html(article, c[2], c[3])

    def add_files(files, progress=gr.Progress()):  # noqa: B008 -- Gradio injects progress through this default
        saved, errors = [], []
        for f in files or []:
            path = getattr(f, "name", None) or str(f)
            original = getattr(f, "orig_name", None) or Path(path).name
            try:
                saved.append(save_upload(path, original, corpus_dir, max_bytes=max_upload_bytes))
            except RagError as exc:
                errors.append(str(exc))
        return _index(saved, errors, progress)

    def add_pasted(title: str, text: str, progress=gr.Progress()):  # noqa: B008 -- as above
        try:
            saved = [save_pasted(title, text, corpus_dir, max_bytes=max_upload_bytes)]
        except RagError as exc:
            return f"⚠️ {exc}", _stats_line(assistant), gr.update(), gr.update()
        status, stats, _files = _index(saved, [], progress)
        return status, stats, "", ""

    def _index(saved: list[Path], errors: list[str], progress):
        if saved:
            progress(0.1, desc="Indexing…")
            try:
                report = assistant.add(saved)
            except RagError as exc:
                errors.append(str(exc))
            else:
                errors.extend(str(i) for i in report.issues)
                progress(1.0, desc="Done")
        lines = [f"Added {p.name}." for p in saved] + [f"⚠️ {e}" for e in errors]
        return "\n\n".join(lines) or "Nothing to add.", _stats_line(assistant), None

    def new_chat():
        return [], [], sources_html(None), "[]", '<div class="sources-empty"></div>'

    def chat_api(message: str) -> str:
        """Answer one question (no history) and return the text with its citation markers."""
        return assistant.ask(message).text

    with gr.Blocks(title="Ask the news") as demo:
        gr.Markdown("## Ask the news\nAnswers come only from the indexed articles, with the sentences they cite.")
        stats = gr.Markdown(_stats_line(assistant), elem_classes=["stats"], elem_id="stats")
        turns = gr.State([])
        payload = gr.State("[]")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Chat",
                    height=480,
                    placeholder="Ask about the articles. Try an example below.",
                    sanitize_html=True,
                )
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question…", show_label=False, scale=5, elem_id="question")
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                examples = gr.Examples(EXAMPLES, inputs=[box], label="Examples")
                clear = gr.Button("New chat", elem_id="new-chat")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(sources_html(None), elem_id="sources")
                with gr.Row():
                    which = gr.Number(value=1, precision=0, minimum=1, label="Citation", scale=1)
                    open_btn = gr.Button("Open article", scale=1, elem_id="open-source")
                article = gr.HTML('<div class="sources-empty"></div>', elem_id="article")
        with gr.Accordion("Add articles", open=False):
            files = gr.File(
                file_count="multiple", file_types=list(UPLOAD_SUFFIXES), label="Upload .txt, .md, .html or .jsonl"
            )
            upload_btn = gr.Button("Add uploaded files", elem_id="add-files")
            title = gr.Textbox(label="Or paste an article: title", elem_id="paste-title")
            body = gr.Textbox(label="Text", lines=6, elem_id="paste-text")
            paste_btn = gr.Button("Add pasted article", elem_id="add-pasted")
            status = gr.Markdown(elem_id="add-status")
        with gr.Accordion("Settings", open=False):
            mode = gr.Radio(["auto", "extractive", "generative"], value=assistant.settings.mode, label="Mode")
            k = gr.Slider(1, 12, value=assistant.settings.k, step=1, label="Passages per question")
            as_of = gr.Textbox(
                value="", label="As of (YYYY-MM-DD; empty = today)", elem_id="as-of",
                info="Questions are asked on this day: later articles are not used, newer ones count more.",
            )
            gr.Textbox(value=assistant.model_name, label="Model in use", interactive=False)

        chat_inputs = [box, chatbot, turns, mode, k, as_of]
        chat_outputs = [box, chatbot, sources, turns, payload]
        for trigger in (box.submit, send.click):
            # One event: its first update clears the box, the rest stream the answer.
            # "minimal": the queue position and timer as text, without a full-panel
            # animation that costs a software-rendered browser a core during generation.
            trigger(
                respond, chat_inputs, chat_outputs, concurrency_id="generate", api_visibility="private",
                show_progress="minimal",
            )
        # The same answering code for scripts and load tests: each client session keeps
        # its own server-side history, exactly like a browser tab.
        hidden = gr.Button(visible=False)
        hidden.click(
            respond, chat_inputs, chat_outputs,
            api_name="ask_turn", api_visibility="undocumented", concurrency_id="generate",
        )
        clear.click(new_chat, None, [chatbot, turns, sources, payload, article], api_visibility="private")
        open_btn.click(open_source, [which, payload], article, api_visibility="private")
        upload_btn.click(add_files, files, [status, stats, files], concurrency_id="index", api_visibility="private")
        paste_btn.click(add_pasted, [title, body], [status, stats, title, body], concurrency_id="index", api_visibility="private")
        gr.api(chat_api, api_name="chat", concurrency_id="generate")
        del examples
    demo.queue(default_concurrency_limit=1, max_size=64)
    return demo
