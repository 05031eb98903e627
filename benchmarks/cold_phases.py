"""Where a cold extractive answer's time goes: imports, loading, spaCy, the first reading (issue: models and endpoints).

    python benchmarks/cold_phases.py IDX ["question"]

Run it as a fresh process (each run is cold). `rag bench`'s `cold_start` figure times the whole
`rag ask` process; this splits the same path into its steps.
"""

from __future__ import annotations

import os
import sys
import time

t0 = time.perf_counter()
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.assistant import Assistant  # noqa: E402

t_import = time.perf_counter()
assistant = Assistant.load(sys.argv[1], mode="extractive")
t_load = time.perf_counter()
from rag.answer.nlp import _pipeline  # noqa: E402

_pipeline()
t_spacy = time.perf_counter()
stream = assistant.stream(sys.argv[2] if len(sys.argv) > 2 else "How many people were arrested?")
first = None
for _ in stream:
    first = first or time.perf_counter()
print(
    f"imports {t_import - t0:.2f} s, index and embedder {t_load - t_import:.2f} s, spaCy {t_spacy - t_load:.2f} s, "
    f"first reading to the first character {first - t_spacy:.2f} s; embedder {type(assistant.embedder.inner).__name__}"
)
