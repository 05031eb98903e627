"""`rag eval`: score the assistant on a gold set, write JSON and HTML reports, compare two runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import RagError
from . import cli
from .common import assistant_options, fail, index_option, k_option, load, mode_option, model_option, settings_of


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
def eval_cmd(gold, corpus, index_dir, mode, model, llm_url, llm_model, k, limit, retrieval_only, json_file, report_file, compare) -> None:
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
    from ..evaluation import eval_result, load_gold, run_eval

    settings = settings_of(index_dir=index_dir, mode=mode, model=model, llm_url=llm_url, llm_model=llm_model, k=k)
    try:
        items = load_gold(gold)[:limit]
        if corpus:
            from ..assistant import Assistant

            assistant = Assistant.build(list(corpus), settings.index, progress=True, **assistant_options(settings))
        else:
            assistant = load(settings)
        with _progress() as progress:
            task = progress.add_task("retrieving" if retrieval_only else "answering", total=len(items))
            metrics, rows, interrupted = run_eval(
                assistant, items, mode=settings.mode, k=settings.k, retrieval_only=retrieval_only,
                on_row=lambda _r: progress.advance(task),
            )
    except RagError as exc:
        fail(exc)
    result = eval_result(assistant, gold, metrics, rows, interrupted, retrieval_only=retrieval_only, limit=limit)
    if interrupted:
        click.secho(f"Interrupted: figures for the {len(rows)} of {len(items)} questions done.", fg="yellow", err=True)
    _print_metrics(metrics)
    if json_file:
        Path(json_file).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        click.echo(f"wrote {json_file}", err=True)
    if report_file:
        from ..evaluation.report import render_report

        Path(report_file).write_text(render_report(result), encoding="utf-8")
        click.echo(f"wrote {report_file}", err=True)
    if interrupted:
        sys.exit(130)  # the shell's code for Ctrl-C, so scripts know the figures are partial


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

    from ..evaluation.compare import compare_results, load_result

    try:
        diff = compare_results(load_result(path_a), load_result(path_b))
    except RagError as exc:
        fail(exc)
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
