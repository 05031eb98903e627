"""The `rag` command line: index articles, ask questions, chat, evaluate, list models, benchmark.

One click group; each command lives in the module for its job (`answering`,
`evaluating`, `tools`) and its docstring is its help.
"""

from __future__ import annotations

import os

import click

__all__ = ["main", "cli"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@click.group()
@click.version_option(package_name="rag-news")
def cli() -> None:
    """Ask questions about news articles, offline, with cited answers.

    Put articles (.txt, .md, .html, .jsonl, .json) in a folder, index it with
    `rag index corpus`, then `rag ask "..."` or `rag chat`.
    """


from . import answering, evaluating, tools  # noqa: E402,F401 -- registers the commands on `cli`
from .tools import benchmarks_dir  # noqa: E402,F401 -- where `rag bench` looks (tests point it elsewhere)


def main() -> None:
    cli(prog_name="rag")


if __name__ == "__main__":  # pragma: no cover
    main()
