"""The chat page, and the same assistant as an OpenAI-compatible API, in one process.

`python app.py` serves http://127.0.0.1:7860 (the page) and http://127.0.0.1:7860/v1
(`POST /v1/chat/completions`, `GET /v1/models`; see `rag.openai_api`). See --help.
"""

from __future__ import annotations

import argparse
import logging
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def main() -> None:
    env = os.environ.get
    ap = argparse.ArgumentParser(description="Serve the news Q&A chat page.")
    ap.add_argument("--host", default=env("RAG_HOST", "127.0.0.1"), help="bind address (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=int, default=int(env("RAG_PORT", "7860")))
    ap.add_argument(
        "--auth", default=env("RAG_AUTH"),
        help="USER:PASS to require a login on the page; the API then needs 'Authorization: Bearer PASS'",
    )
    ap.add_argument("--corpus", default=env("RAG_CORPUS", "corpus"), help="articles folder (uploads are saved here)")
    ap.add_argument("--index", default=env("RAG_INDEX", "index"))
    ap.add_argument("--model", default=env("RAG_MODEL"), help="a GGUF path or a Hugging Face reference owner/repo:quant")
    ap.add_argument("--llm-url", default=env("RAG_LLM_URL"), help="an OpenAI-compatible LLM server to generate with")
    ap.add_argument("--llm-model", default=env("RAG_LLM_MODEL"), help="the model name to ask that server for")
    ap.add_argument("--share", action="store_true", help="also make a public share link (off by default)")
    ap.add_argument("--max-upload-mb", type=float, default=float(env("RAG_MAX_UPLOAD_MB", "10")))
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from starlette.middleware import Middleware

    from rag import Assistant, RagError
    from rag.openai_api import openai_routes
    from rag.pacing import FirstScript
    from rag.ui import CSS, build_ui

    try:
        assistant = Assistant.build(
            args.corpus, args.index, model=args.model, llm_url=args.llm_url, llm_model=args.llm_model, progress=True
        )
    except RagError as exc:
        raise SystemExit(f"Error: {exc}") from None
    max_bytes = int(args.max_upload_mb * 1024 * 1024)
    demo = build_ui(assistant, corpus_dir=args.corpus, max_upload_bytes=max_bytes)
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    if args.auth and len(auth) != 2:
        raise SystemExit("Error: --auth takes USER:PASS")
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        auth=auth,
        share=args.share,
        max_file_size=max_bytes,
        css=CSS,
        show_error=False,
        # A script that must run before Gradio's own (see rag/pacing.py), and the /v1 routes,
        # placed before Gradio's so none of its paths can shadow them.
        app_kwargs={
            "middleware": [Middleware(FirstScript)],
            "routes": openai_routes(assistant, token=auth[1] if auth else None),
        },
    )


if __name__ == "__main__":
    main()
