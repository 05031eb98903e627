"""What the `rag` commands share: one-line errors, the options they have in common, settings and loading."""

from __future__ import annotations

import json
import sys

import click

from ..config import MODES, Settings

__all__ = [
    "fail", "assistant_options", "index_option", "mode_option", "model_option", "model_only_option", "k_option", "as_of_option",
    "settings_of", "load", "print_answer",
]


def fail(exc: Exception) -> None:
    click.echo(f"Error: {exc}", err=True)
    sys.exit(1)


index_option = click.option(
    "--store", "--index", "index_dir", default=None, metavar="STORE",
    help="Where the index is: a folder (embedded SQLite + FAISS + tantivy), milvus:FILE.db (Milvus Lite) or "
    "http://HOST:19530 (a Milvus server). Default: $RAG_STORE, $RAG_INDEX or ./index.",
)
mode_option = click.option(
    "--mode", type=click.Choice(MODES), default=None, help="auto (default), extractive (quotes, no LLM) or generative."
)
model_only_option = click.option(
    "--model", default=None,
    help="A GGUF file, or a Hugging Face reference such as Qwen/Qwen2.5-1.5B-Instruct-GGUF:q4_k_m "
    "(default: $RAG_MODEL or the shipped SmolLM2; see `rag models`).",
)
_llm_url = click.option(
    "--llm-url", default=None, metavar="URL",
    help="Generate with an OpenAI-compatible server instead, e.g. http://127.0.0.1:8080/v1 ($RAG_LLM_URL; "
    "key in $RAG_LLM_API_KEY).",
)
_llm_model = click.option("--llm-model", default=None, help="The model name to ask the server for (default: the first it lists).")


def model_option(f):
    """--model, --llm-url and --llm-model: which LLM phrases generated answers."""
    return model_only_option(_llm_url(_llm_model(f)))


k_option = click.option("-k", "k", type=click.IntRange(1, 50), default=None, help="Passages to retrieve (default 5).")
as_of_option = click.option(
    "--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
    help="The day the question is asked (default today): later articles are not used, newer ones count more.",
)


def settings_of(**kw) -> Settings:
    return Settings.from_env(**{("index" if k == "index_dir" else k): v for k, v in kw.items()})


def assistant_options(settings: Settings) -> dict:
    """The settings a command's flags set, as `Assistant.load`/`build` keywords (the rest come from the environment)."""
    return {"model": settings.model, "llm_url": settings.llm_url, "llm_model": settings.llm_model,
            "mode": settings.mode, "k": settings.k}


def load(settings: Settings):
    from ..assistant import Assistant

    return Assistant.load(settings.index, **assistant_options(settings))


def print_answer(answer, *, as_json: bool, streamed: bool = False) -> None:
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    if not streamed:
        click.echo(answer.text)
    for c in answer.citations:
        source = f"{c.source}, " if c.source else ""
        click.secho(f"  [{c.n}] {c.title} ({source}{c.day}; chars {c.start}-{c.end})", fg="cyan", err=False)
        if c.also_in:
            click.secho(f"      also in: {c.also_in_text}", fg="cyan", err=False)
    for note in answer.notes:
        click.secho(f"  note: {note}", fg="yellow", err=True)

