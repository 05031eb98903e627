"""Parse and validate a gold Q&A file (JSON Lines); every error names its line and field."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import RagError

__all__ = ["GoldItem", "GoldError", "load_gold", "parse_gold_line"]


class GoldError(RagError):
    """A malformed gold file: ``path:line: field: problem``."""


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    answers: list[str]
    answerable: bool
    evidence: list[str] = field(default_factory=list)
    evidence_docs: list[str] = field(default_factory=list)
    history: list[dict[str, str]] = field(default_factory=list)
    date: str | None = None
    all_of: list[str] = field(default_factory=list)  # every one must appear (digests, disagreements)


def _str_list(obj: dict, name: str, where: str) -> list[str]:
    value = obj.get(name, [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GoldError(f"{where}: field '{name}' must be a list of strings")
    return list(value)


def parse_gold_line(line: str, where: str) -> GoldItem:
    """One gold item from one JSON line; ``where`` is ``path:line`` for messages."""
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise GoldError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise GoldError(f"{where}: expected a JSON object")
    qid = obj.get("id")
    if isinstance(qid, bool) or not isinstance(qid, (str, int)) or str(qid) == "":
        raise GoldError(f"{where}: field 'id' must be a non-empty string or integer")
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise GoldError(f"{where}: field 'question' must be a non-empty string")
    if "answers" not in obj:
        raise GoldError(f"{where}: field 'answers' is missing (use [] for an unanswerable question)")
    answers = _str_list(obj, "answers", where)
    answerable = obj.get("answerable", bool(answers))
    if not isinstance(answerable, bool):
        raise GoldError(f"{where}: field 'answerable' must be true or false")
    if answerable and not answers:
        raise GoldError(f"{where}: field 'answers' is empty but 'answerable' is true")
    history = obj.get("history") or []
    if not isinstance(history, list) or not all(
        isinstance(t, dict) and t.get("role") in ("user", "assistant") and isinstance(t.get("content"), str)
        for t in history
    ):
        raise GoldError(f"{where}: field 'history' must be a list of {{\"role\": \"user\"|\"assistant\", \"content\": str}}")
    date = obj.get("date")
    if date is not None and not isinstance(date, str):
        raise GoldError(f"{where}: field 'date' must be a string")
    return GoldItem(
        id=str(qid),
        question=question.strip(),
        answers=answers,
        answerable=answerable,
        evidence=_str_list(obj, "evidence", where),
        evidence_docs=_str_list(obj, "evidence_docs", where),
        history=[{"role": t["role"], "content": t["content"]} for t in history],
        date=date,
        all_of=_str_list(obj, "all_of", where),
    )


def load_gold(path: str | Path) -> list[GoldItem]:
    """All items of a gold file; raises `GoldError` on the first bad line."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GoldError(f"gold file not found: {path}") from None
    except UnicodeDecodeError:
        raise GoldError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise GoldError(f"cannot read {path}: {exc.strerror}") from None
    items, seen = [], set()
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        item = parse_gold_line(line, f"{path}:{n}")
        if item.id in seen:
            # Real gold sets repeat ids (realtimeqa does); keep the row, make its id unique.
            item = replace(item, id=f"{item.id}#{n}")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise GoldError(f"{path}: no questions in the gold file")
    return items
