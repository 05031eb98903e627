"""The `rag` command line: index articles, ask questions, chat, and evaluate."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from .config import MODES, Settings
from .errors import RagError

__all__ = ["main", "cli"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _fail(exc: Exception) -> None:
    click.echo(f"Error: {exc}", err=True)
    sys.exit(1)


index_option = click.option(
    "--index", "index_dir", default=None, help="Index folder (default: $RAG_INDEX or ./index)."
)
mode_option = click.option(
    "--mode", type=click.Choice(MODES), default=None, help="auto (default), extractive (quotes, no LLM) or generative."
)
model_option = click.option("--model", default=None, help="Path of a GGUF model (default: $RAG_MODEL or the shipped SmolLM2).")
k_option = click.option("-k", "k", type=click.IntRange(1, 50), default=None, help="Passages to retrieve (default 5).")
as_of_option = click.option(
    "--as-of", "as_of", default=None, metavar="YYYY-MM-DD",
    help="The day the question is asked (default today): later articles are not used, newer ones count more.",
)


def _settings(**kw) -> Settings:
    return Settings.from_env(**{("index" if k == "index_dir" else k): v for k, v in kw.items()})


def _load(settings: Settings):
    from .assistant import Assistant

    return Assistant.load(settings.index, model=settings.model, mode=settings.mode, k=settings.k)


def _print_answer(answer, *, as_json: bool, streamed: bool = False) -> None:
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


@click.group()
@click.version_option(package_name="rag-news")
def cli() -> None:
    """Ask questions about news articles, offline, with cited answers.

    Put articles (.txt, .md, .html, .jsonl, .json) in a folder, index it with
    `rag index corpus`, then `rag ask "..."` or `rag chat`.
    """


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
    from .embedder import SentenceTransformerEmbedder
    from .indexer import update_index
    from .store import read_manifest

    settings = _settings(index_dir=index_dir)
    try:
        targets = list(paths)
        if not targets and not (read_manifest(Path(settings.index)) or {}).get("roots"):
            targets = [settings.corpus]
        report = update_index(
            targets,
            settings.index,
            SentenceTransformerEmbedder(),
            rebuild=rebuild,
            progress=not quiet and not as_json,
            on_wait=lambda holder: click.echo(f"waiting for the index lock held by {holder}", err=True),
        )
    except RagError as exc:
        _fail(exc)
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
def ask_cmd(question: str, index_dir, mode, model, k, as_of, as_json: bool) -> None:
    """Answer QUESTION from the indexed articles, citing its sources.

    A factoid answer opens with the short answer, then the sentence it was
    taken from; --json has it as "short", with "confidence", the reader's
    estimate that the answer is right.
    """
    try:
        assistant = _load(_settings(index_dir=index_dir, mode=mode, model=model, k=k))
        if as_json:
            answer = assistant.ask(question, as_of=as_of)
        else:
            stream = assistant.stream(question, as_of=as_of)
            for piece in stream:
                click.echo(piece, nl=False)
            click.echo()
            answer = stream.answer
    except RagError as exc:
        _fail(exc)
    _print_answer(answer, as_json=as_json, streamed=not as_json)


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
        assistant = _load(_settings(index_dir=index_dir, k=k))
        answer = assistant.timeline(topic, as_of=as_of)
    except RagError as exc:
        _fail(exc)
    if not as_json and not answer.abstained:
        from .answer.compose import DIGEST_SEPARATOR

        click.echo(answer.text.replace(DIGEST_SEPARATOR, "\n"))
        _print_answer(answer, as_json=False, streamed=True)
        return
    _print_answer(answer, as_json=as_json)


@cli.command("chat")
@index_option
@mode_option
@model_option
@k_option
@as_of_option
def chat_cmd(index_dir, mode, model, k, as_of) -> None:
    """Talk about the articles: follow-up questions keep the conversation.

    Type /new to start over, /quit (or Ctrl-D) to leave.
    """
    try:
        assistant = _load(_settings(index_dir=index_dir, mode=mode, model=model, k=k))
    except RagError as exc:
        _fail(exc)
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
        _print_answer(stream.answer, as_json=False, streamed=True)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": stream.answer.text}]


@cli.command("eval")
@click.argument("gold", type=click.Path(), required=False)
@click.option("--corpus", "corpus", multiple=True, help="Index (or update) these paths first.")
@index_option
@mode_option
@model_option
@k_option
@click.option("--limit", type=click.IntRange(1, None), default=None, help="Only the first N questions.")
@click.option("--retrieval-only", is_flag=True, help="Score retrieval only (recall@k, MRR): no LLM, fast.")
@click.option("--json", "json_file", type=click.Path(), default=None, help="Write metrics, settings and rows to FILE.")
@click.option("--report", "report_file", type=click.Path(), default=None, help="Write a self-contained HTML report to FILE.")
@click.option(
    "--compare", nargs=2, type=click.Path(), default=None, metavar="A.json B.json",
    help="Compare two --json results instead of running: metric changes and flipped questions.",
)
def eval_cmd(gold, corpus, index_dir, mode, model, k, limit, retrieval_only, json_file, report_file, compare) -> None:
    """Score the assistant on a GOLD question file (JSON Lines).

    Each line: {"id", "question", "answers": [...] ([] = unanswerable),
    optional "evidence": [strings], "evidence_docs": [article ids],
    "history": [{"role", "content"}], "date": "YYYY-MM-DD", "all_of": [strings that must all appear]}. Questions are
    asked in order with their history, each as of its date (later articles
    unused). Ctrl-C stops and reports the questions done.

    \b
    Answers are normalised before comparison: lowercase, accents and
    punctuation folded, a/an/the dropped, "2,000" = "2000".
    - recall@k: answerable questions with a top-k chunk holding a gold
      evidence string, from a gold evidence_docs article, or (neither
      given) holding a gold answer; mrr: mean 1/rank of that chunk.
    - accuracy: answer contains a gold answer, or abstains when there is
      none; answerable_accuracy: the same over answerable questions.
    - truthfulness: (right - wrong answers) / questions; answering an
      unanswerable question is wrong, abstaining counts 0.
    - short_accuracy: short answers holding a gold answer / short answers.
    - exact_match, token_f1: against the best gold answer (answerable).
    - abstention_recall: unanswerable questions abstained;
      false_abstention_rate: answerable questions abstained.
    - citation_precision: citations whose passage holds gold evidence
      (or the gold answer); cited_share: answers with a citation;
      unsupported_share: answer sentences their citations don't support.
    - latency_*: p50/p95 of retrieval, first-text and total seconds.
    """
    if compare:
        _compare(*compare, json_file)
        return
    if not gold:
        raise click.UsageError("give a GOLD file, or --compare A.json B.json")
    from .evaluation import eval_result, load_gold, run_eval

    settings = _settings(index_dir=index_dir, mode=mode, model=model, k=k)
    try:
        items = load_gold(gold)[:limit]
        if corpus:
            from .assistant import Assistant

            assistant = Assistant.build(
                list(corpus), settings.index, model=settings.model, mode=settings.mode, k=settings.k, progress=True
            )
        else:
            assistant = _load(settings)
        with _progress() as progress:
            task = progress.add_task("retrieving" if retrieval_only else "answering", total=len(items))
            metrics, rows, interrupted = run_eval(
                assistant, items, mode=settings.mode, k=settings.k, retrieval_only=retrieval_only,
                on_row=lambda _r: progress.advance(task),
            )
    except RagError as exc:
        _fail(exc)
    result = eval_result(assistant, gold, metrics, rows, interrupted, retrieval_only=retrieval_only, limit=limit)
    if interrupted:
        click.secho(f"Interrupted: figures for the {len(rows)} of {len(items)} questions done.", fg="yellow", err=True)
    _print_metrics(metrics)
    if json_file:
        Path(json_file).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        click.echo(f"wrote {json_file}", err=True)
    if report_file:
        from .evaluation.report import render_report

        Path(report_file).write_text(render_report(result), encoding="utf-8")
        click.echo(f"wrote {report_file}", err=True)
    if interrupted:
        sys.exit(130)  # the shell's code for Ctrl-C, so scripts know the figures are partial


@cli.command("bench")
@click.option("--corpus", type=click.Path(exists=True), default=None,
              help="Articles to build and re-index (default: ../shared/data/realtimeqa-2023 when present, else ./corpus).")
@model_option
@click.option("--quick", is_flag=True, help="A reduced version of every figure (a few minutes).")
@click.option("--json", "json_file", type=click.Path(), default=None, help="Write machine, settings and figures to FILE.")
def bench_cmd(corpus, model, quick, json_file) -> None:
    """Measure every performance figure, each beside its baseline from the same run.

    Ingest throughput vs bare SentenceTransformer.encode; the full build (wall
    time, peak memory); re-indexing after one article changes; the bf16
    embedder vs fp32 on the same chunks; fused retrieval latency at scale;
    generation speed vs raw llama-cpp-python; time to first token vs prompt
    tokens / prompt-processing rate; KV-cache reuse on a follow-up; cold start
    of `rag ask`; end-to-end ask p95 per mode.
    """
    from rich.console import Console
    from rich.table import Table

    from .bench import run_bench

    console = Console(stderr=True)

    def shown(f) -> None:
        value = "n/a" if f.value is None else f"{f.value:.3f} {f.unit}"
        ratio = "" if f.ratio is None else f" ({f.ratio:.2f}x baseline)"
        verdict = {True: "met", False: "NOT met", None: "-"}[f.met]
        console.print(f"{f.name}: {value}{ratio}  goal {f.goal or '-'}: {verdict}", markup=False, highlight=False)
        console.print(f"    {f.note}", markup=False, highlight=False, style="dim")

    try:
        result = run_bench(corpus, quick=quick, model=model, on_figure=shown)
    except RagError as exc:
        _fail(exc)
    table = Table(title=f"rag bench ({result['machine']['cpu']}, {result['machine']['usable_cores']} cores)")
    for col in ("figure", "value", "baseline", "ratio", "goal", "met"):
        table.add_column(col, overflow="fold")
    for f in result["figures"]:
        table.add_row(
            f["name"], "n/a" if f["value"] is None else f"{f['value']:g} {f['unit']}",
            "" if f["baseline"] is None else f"{f['baseline']:g}", "" if f["ratio"] is None else f"{f['ratio']:.2f}x",
            f["goal"], {True: "yes", False: "NO", None: "-"}[f["met"]],
        )
    Console().print(table)
    if json_file:
        Path(json_file).write_text(json.dumps(result, indent=1), encoding="utf-8")


def _progress():
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    )


def _shown(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _print_metrics(metrics: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="rag eval")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, _shown(value))
    Console().print(table)


def _compare(path_a: str, path_b: str, json_file: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from .evaluation.compare import compare_results, load_result

    try:
        diff = compare_results(load_result(path_a), load_result(path_b))
    except RagError as exc:
        _fail(exc)
    console = Console()
    table = Table(title=f"A = {path_a}   B = {path_b}")
    for col, justify in (("metric", "left"), ("A", "right"), ("B", "right"), ("B - A", "right")):
        table.add_column(col, justify=justify)
    for name, a, b, change in diff.metrics:
        shown = "" if change is None else (f"{change:+.3f}" if isinstance(change, float) else f"{change:+d}")
        shown = shown.replace("-0.000", "+0.000")
        table.add_row(name, _shown(a), _shown(b), shown)
    console.print(table)
    for label, flips in (("Fixed in B", diff.fixed), ("Broken in B", diff.broken)):
        console.print(f"{label}: {len(flips)}", style="bold")
        for f in flips:
            console.print(f"  {f.id}: {f.question}", markup=False, highlight=False)
    if diff.only_in_a or diff.only_in_b:
        console.print(f"Questions only in A: {diff.only_in_a}, only in B: {diff.only_in_b}")
    if json_file:
        Path(json_file).write_text(json.dumps(diff.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")


def main() -> None:
    cli(prog_name="rag")


if __name__ == "__main__":  # pragma: no cover
    main()
