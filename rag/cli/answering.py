"""`rag index`, `rag ask`, `rag timeline` and `rag chat`: building the index and asking it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import RagError
from . import cli
from .common import (
    as_of_option,
    fail,
    index_option,
    k_option,
    load,
    mode_option,
    model_option,
    print_answer,
    settings_of,
)


def _tracked_roots(store) -> list[str]:
    """The folders an index remembers (none when it is missing or unreadable); an index of the
    old format remembers them too, and is migrated from them."""
    from ..store.legacy import old_manifest

    old = old_manifest(Path(store.location)) if store.backend == "sqlite" else None
    if old is not None:
        return old.get("roots", [])
    try:
        return (store.manifest() or {}).get("roots", [])
    except RagError:
        return []


@cli.command("index")
@click.argument("paths", nargs=-1, type=click.Path())
@index_option
@click.option("--rebuild", is_flag=True, help="Start from scratch instead of updating.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def index_cmd(paths: tuple[str, ...], index_dir: str | None, rebuild: bool, as_json: bool, quiet: bool) -> None:
    """Index or update articles from PATHS (folders or files).

    The index remembers its folders: later runs rescan them, so changed files
    are re-indexed, deleted ones dropped, and unchanged ones cost nothing.
    With no PATHS, the remembered folders (or ./corpus) are rescanned.
    """
    from ..indexer import update_index
    from ..store import open_store
    from ..wiring import index_embedder

    settings = settings_of(index_dir=index_dir)
    try:
        targets = list(paths)
        if not targets and not _tracked_roots(open_store(settings.index)):
            targets = [settings.corpus]
        report = update_index(
            targets,
            settings.index,
            index_embedder(),
            rebuild=rebuild,
            progress=not quiet and not as_json,
            on_wait=lambda holder: click.echo(f"waiting for the index lock held by {holder}", err=True),
        )
    except RagError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    for issue in report.issues:
        click.secho(f"skipped {issue}", fg="yellow", err=True)
    for note in report.notes:
        click.secho(note, fg="yellow", err=True)
    click.echo(
        f"{report.articles} articles, {report.chunks} chunks in {settings.index}/ "
        f"(+{len(report.added)} new, {len(report.updated)} changed, -{len(report.removed)} removed; "
        f"{report.embedded} chunks embedded, {report.reused} reused) in {report.seconds:.1f}s"
    )


@cli.command("ask")
@click.argument("question")
@index_option
@mode_option
@model_option
@k_option
@as_of_option
@click.option("--json", "as_json", is_flag=True, help="Print the answer object as JSON.")
def ask_cmd(question: str, index_dir, mode, model, llm_url, llm_model, k, as_of, as_json: bool) -> None:
    """Answer QUESTION from the indexed articles, citing its sources.

    A factoid answer opens with the short answer, then the sentence it was
    taken from; --json has it as "short", with "confidence", the reader's
    estimate that the answer is right.
    """
    try:
        assistant = load(settings_of(index_dir=index_dir, mode=mode, model=model, llm_url=llm_url, llm_model=llm_model, k=k))
        if as_json:
            answer = assistant.ask(question, as_of=as_of)
        else:
            stream = assistant.stream(question, as_of=as_of)
            for piece in stream:
                click.echo(piece, nl=False)
            click.echo()
            answer = stream.answer
    except RagError as exc:
        fail(exc)
    print_answer(answer, as_json=as_json, streamed=not as_json)


@cli.command("timeline")
@click.argument("topic")
@index_option
@k_option
@as_of_option
@click.option("--json", "as_json", is_flag=True, help="Print the digest as JSON.")
def timeline_cmd(topic: str, index_dir, k, as_of, as_json: bool) -> None:
    """A dated digest of TOPIC: how the reports on it changed, day by day.

    Prints the best sentence of each of up to five days, oldest first, each
    with its date and citation ("Mar 2: ... [1] · Mar 3: ... [2]"), using only
    articles published by --as-of (default today).
    """
    try:
        assistant = load(settings_of(index_dir=index_dir, k=k))
        answer = assistant.timeline(topic, as_of=as_of)
    except RagError as exc:
        fail(exc)
    if not as_json and not answer.abstained:
        from ..answer.compose import DIGEST_SEPARATOR

        click.echo(answer.text.replace(DIGEST_SEPARATOR, "\n"))
        print_answer(answer, as_json=False, streamed=True)
        return
    print_answer(answer, as_json=as_json)


@cli.command("chat")
@index_option
@mode_option
@model_option
@k_option
@as_of_option
def chat_cmd(index_dir, mode, model, llm_url, llm_model, k, as_of) -> None:
    """Talk about the articles: follow-up questions keep the conversation.

    Type /new to start over, /quit (or Ctrl-D) to leave.
    """
    try:
        assistant = load(settings_of(index_dir=index_dir, mode=mode, model=model, llm_url=llm_url, llm_model=llm_model, k=k))
    except RagError as exc:
        fail(exc)
    stats = assistant.index.stats()
    click.echo(f"{stats['articles']} articles, {stats['chunks']} chunks. Ask away (/new, /quit).")
    history: list[dict[str, str]] = []
    while True:
        try:
            question = click.prompt("you", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            click.echo()
            return
        question = question.strip()
        if not question:
            continue
        if question in ("/quit", "/exit"):
            return
        if question == "/new":
            history = []
            click.echo("(new conversation)")
            continue
        try:
            stream = assistant.stream(question, history, as_of=as_of)
            for piece in stream:
                click.echo(piece, nl=False)
            click.echo()
        except RagError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            continue
        print_answer(stream.answer, as_json=False, streamed=True)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": stream.answer.text}]
