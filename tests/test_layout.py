"""The package's boundaries: `rag/` reads nothing of the checkout around it (tests/, ../shared)
and reaches into no other object's private attributes that the benchmarks once used."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "rag"
# Attributes once read from outside their class: the compute pool, the embedder's model, llama.cpp's tokens.
PRIVATE = {"_COMPUTE", "_model", "_input_ids"}


def _sources() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"), str(p))) for p in sorted(PACKAGE.rglob("*.py"))]


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes (prose may mention tests/ files)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _checkout_path(text: object) -> bool:
    """A string naming the test tree or the shared data folder as a path, or as one part of a path."""
    if not isinstance(text, str):
        return False
    t = text.replace("\\", "/")
    return t in {"tests", "shared"} or bool(re.search(r"(^|/)tests/|(^|/)shared/|\.\./shared", t))


def test_the_package_has_no_bench_module():
    assert not (PACKAGE / "bench.py").exists() and not (PACKAGE / "bench").exists()


def test_rag_names_no_checkout_paths():
    found = []
    for path, tree in _sources():
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in {"tests", "conftest"} for n in names):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports the test tree")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                if _checkout_path(node.value):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert found == []


def test_rag_reads_no_private_attributes_of_other_objects():
    found = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and any(a.name in PRIVATE for a in node.names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports {[a.name for a in node.names]}")
            elif isinstance(node, ast.Attribute) and node.attr in PRIVATE:
                owner = node.value
                if not (isinstance(owner, ast.Name) and owner.id in {"self", "cls"}):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert found == []


def test_the_scan_catches_what_it_looks_for():
    """The checks above can fail: they flag the patterns rag/bench.py used."""
    tree = ast.parse(
        "from .assistant import _COMPUTE\n"
        "v = embedder._model.encode(t)\n"
        "ids = raw._input_ids[:3]\n"
        "p = ROOT / 'tests' / 'gold' / 'seed.jsonl'\n"
        "s = ROOT.parent / 'shared' / 'data'\n"
    )
    attrs = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in PRIVATE]
    assert len(attrs) == 2
    assert sorted(n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and _checkout_path(n.value)) == [
        "shared", "tests"
    ]
    assert _checkout_path("tests/gold/seed.jsonl") and _checkout_path("../shared/data/realtimeqa-2023")
    assert not _checkout_path("shared by retrieval") and not _checkout_path("gold")
