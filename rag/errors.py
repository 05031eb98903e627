"""The one exception users see: a short, actionable message (no traceback)."""

from __future__ import annotations

__all__ = ["RagError", "IndexMissingError", "IndexCorruptError"]


class RagError(Exception):
    """A failure the user can fix; ``str(err)`` says how, in one line."""


class IndexMissingError(RagError):
    """No index where one was expected."""


class IndexCorruptError(RagError):
    """An index file is missing, truncated or does not match its checksum."""
