"""Settings precedence and the `rag` command line (index, ask, eval, python -m rag)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import ARRESTED, CORPUS, GOLD, ROOT

import rag.assistant
import rag.embedder
from rag.cli import cli
from rag.config import MODES, Settings
from rag.errors import RagError

# -- Settings ---------------------------------------------------------------------------------


def test_defaults():
    s = Settings.from_env()
    assert s == Settings()
    assert s.mode == "auto" and s.k == 5 and s.model is None and s.threads is None and s.n_ctx == 2048
    assert s.index == "index" and s.temperature == 0.0


def test_env_overrides_default(monkeypatch):
    monkeypatch.setenv("RAG_MODE", "extractive")
    monkeypatch.setenv("RAG_K", "7")
    monkeypatch.setenv("RAG_THREADS", "3")
    monkeypatch.setenv("RAG_TEMPERATURE", "0.5")
    monkeypatch.setenv("RAG_MODEL", "/models/x.gguf")
    monkeypatch.setenv("RAG_INDEX", "/tmp/some-index")
    s = Settings.from_env()
    assert s.mode == "extractive"
    assert s.k == 7 and isinstance(s.k, int)
    assert s.threads == 3
    assert s.temperature == 0.5
    assert s.model == "/models/x.gguf"
    assert s.index == "/tmp/some-index"


def test_flag_overrides_env(monkeypatch):
    monkeypatch.setenv("RAG_MODE", "extractive")
    monkeypatch.setenv("RAG_K", "7")
    s = Settings.from_env(mode="generative", k=2)
    assert s.mode == "generative" and s.k == 2
    # A flag left unset (None) does not hide the environment.
    s = Settings.from_env(mode=None, k=None)
    assert s.mode == "extractive" and s.k == 7


def test_empty_env_value_is_ignored(monkeypatch):
    monkeypatch.setenv("RAG_MODE", "")
    monkeypatch.setenv("RAG_K", "")
    assert Settings.from_env() == Settings()


@pytest.mark.parametrize("mode", MODES)
def test_valid_modes(mode):
    assert Settings.from_env(mode=mode).mode == mode


def test_invalid_mode_flag():
    with pytest.raises(RagError, match="unknown mode 'creative'"):
        Settings.from_env(mode="creative")
    with pytest.raises(RagError, match="mode"):
        Settings().with_overrides(mode="EXTRACTIVE")


def test_invalid_mode_env(monkeypatch):
    monkeypatch.setenv("RAG_MODE", "creative")
    with pytest.raises(RagError, match="mode"):
        Settings.from_env()
    assert Settings.from_env(mode="auto").mode == "auto"  # the flag wins, so nothing invalid remains


def test_invalid_number_env(monkeypatch):
    monkeypatch.setenv("RAG_K", "five")
    with pytest.raises(RagError, match="RAG_K"):
        Settings.from_env()


# -- CLI ----------------------------------------------------------------------------------------


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()




def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def test_index_command(runner, tmp_path, shared_models):
    index_dir = tmp_path / "idx"
    result = runner.invoke(cli, ["index", str(CORPUS), "--index", str(index_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "1 articles" in result.output and f"in {index_dir}/" in result.output
    assert "+1 new" in result.output
    assert (index_dir / "store.sqlite").is_file() and not (index_dir / "CURRENT").exists()

    again = runner.invoke(cli, ["index", "--index", str(index_dir), "--json"])  # remembered roots
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["articles"] == 1 and report["embedded"] == 0 and report["added"] == []


def test_index_command_reports_bad_files(runner, tmp_path, shared_models):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Good title\n\nSome article text about floods.\n", encoding="utf-8")
    (corpus / "bad.txt").write_bytes(b"Bad\n\n\xff\xfe text")
    result = runner.invoke(cli, ["index", str(corpus), "--index", str(tmp_path / "idx"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "skipped" in result.stderr and "bad.txt" in result.stderr
    assert "1 articles" in result.stdout


def test_index_command_missing_path(runner, tmp_path, shared_models):
    result = runner.invoke(cli, ["index", str(tmp_path / "nope"), "--index", str(tmp_path / "idx")])
    assert "nope" in _one_line_error(result)


def test_ask_extractive(runner, seed_index, shared_models):
    result = runner.invoke(cli, ["ask", ARRESTED, "--index", str(seed_index), "--mode", "extractive"])
    assert result.exit_code == 0, result.output
    assert "2,000" in result.stdout
    assert "[1]" in result.stdout
    assert "  [1] Dozens ‘Liquidated’ in Kazakhstan" in result.stdout  # the citation line
    assert "(date unknown; chars " in result.stdout  # the seed .txt names no date, and the line says so


def test_ask_json_with_the_real_wiring(runner, seed_index):
    # No shared models here: the command loads its own embedder, as a user's would.
    result = runner.invoke(cli, ["ask", ARRESTED, "--index", str(seed_index), "--mode", "extractive", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert {"text", "citations", "abstained"} <= set(answer)
    assert answer["abstained"] is False
    assert "2,000" in answer["text"]
    assert answer["citations"][0]["n"] == 1
    assert "2,000" in answer["citations"][0]["quote"]


def test_ask_json_abstains(runner, seed_index, shared_models):
    result = runner.invoke(cli, ["ask", "What is the capital of France?", "--index", str(seed_index), "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["abstained"] is True and answer["citations"] == []
    assert answer["text"].startswith("The indexed articles don't say")


def test_ask_index_from_env(runner, seed_index, shared_models, monkeypatch):
    monkeypatch.setenv("RAG_INDEX", str(seed_index))
    monkeypatch.setenv("RAG_MODE", "extractive")
    result = runner.invoke(cli, ["ask", ARRESTED])
    assert result.exit_code == 0, result.output
    assert "2,000" in result.stdout


def test_ask_missing_index(runner, tmp_path, shared_models):
    result = runner.invoke(cli, ["ask", ARRESTED, "--index", str(tmp_path / "no-index"), "--mode", "extractive"])
    line = _one_line_error(result)
    assert "no index" in line and "rag index" in line


def test_ask_flag_beats_env(runner, tmp_path, seed_index, shared_models, monkeypatch):
    monkeypatch.setenv("RAG_INDEX", str(tmp_path / "no-index"))
    result = runner.invoke(cli, ["ask", ARRESTED, "--index", str(seed_index), "--mode", "extractive"])
    assert result.exit_code == 0, result.output


def test_ask_bad_mode_env(runner, seed_index, shared_models, monkeypatch):
    monkeypatch.setenv("RAG_MODE", "creative")
    result = runner.invoke(cli, ["ask", ARRESTED, "--index", str(seed_index)])
    assert "mode" in _one_line_error(result)


def test_ask_bad_mode_flag(runner, seed_index):
    result = runner.invoke(cli, ["ask", ARRESTED, "--index", str(seed_index), "--mode", "creative"])
    assert result.exit_code == 2  # click's usage error
    assert "creative" in result.output


def test_ask_corrupt_index(runner, tmp_path, seed_index, shared_models):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(seed_index, copy)
    (vectors,) = sorted((copy / "vectors").glob("vec-*[0-9].npy"))  # not the .keys.npy beside it
    vectors.write_bytes(b"not numpy")
    result = runner.invoke(cli, ["ask", ARRESTED, "--index", str(copy), "--mode", "extractive"])
    assert "rag index --rebuild" in _one_line_error(result)


def test_ask_corrupt_database(runner, tmp_path, seed_index, shared_models):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(seed_index, copy)
    (copy / "store.sqlite").write_bytes(b"this is not an SQLite database, " * 200)
    for name in ("store.sqlite-wal", "store.sqlite-shm"):
        (copy / name).unlink(missing_ok=True)
    result = runner.invoke(cli, ["ask", ARRESTED, "--index", str(copy), "--mode", "extractive"])
    line = _one_line_error(result)
    assert "store.sqlite" in line and "rag index --rebuild" in line


def test_eval_command(runner, tmp_path, seed_index, shared_models):
    out = tmp_path / "out.json"
    result = runner.invoke(
        cli,
        [
            "eval",
            str(GOLD / "seed.jsonl"),
            "--index",
            str(seed_index),
            "--limit",
            "5",
            "--mode",
            "extractive",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "answerable_accuracy" in result.stdout
    payload = json.loads(out.read_text(encoding="utf-8"))
    metrics = payload["metrics"]
    assert metrics["questions"] == 5
    assert len(payload["rows"]) == 5
    assert payload["settings"]["mode"] == "extractive"
    for name in ("accuracy", "answerable_accuracy", "truthfulness", "citation_precision", "recall@5", "mrr"):
        assert name in metrics
    rows = payload["rows"]
    # The figures are what the rows say: accuracy counts correct rows, truthfulness right minus wrong answers.
    assert metrics["accuracy"] == pytest.approx(sum(r["correct"] for r in rows) / 5)
    answered = [r for r in rows if not r["abstained"]]
    right = sum(r["correct"] for r in answered)
    assert metrics["truthfulness"] == pytest.approx((right - (len(answered) - right)) / 5)
    assert all("short" in r and "confidence" in r for r in rows)
    assert {r["id"] for r in payload["rows"]} == {f"seed-00{i}" for i in range(1, 6)}


def test_eval_bad_gold(runner, tmp_path, seed_index, shared_models):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id": 1, "question": "Q?", "answers": ["a"]}\n{"id": 2, "question": "Q2?"}\n', encoding="utf-8")
    result = runner.invoke(cli, ["eval", str(gold), "--index", str(seed_index), "--mode", "extractive"])
    line = _one_line_error(result)
    assert f"{gold}:2" in line and "answers" in line


def test_python_dash_m_rag_help():
    result = subprocess.run(
        [sys.executable, "-m", "rag", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    for command in ("index", "ask", "chat", "eval"):
        assert command in result.stdout
    assert "Usage: rag" in result.stdout


def test_version(runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert rag.__version__ in result.output


def test_eval_retrieval_only_report_and_compare(runner, tmp_path, seed_index, shared_models):
    gold = str(GOLD / "seed.jsonl")
    ro, ex, report = tmp_path / "ro.json", tmp_path / "ex.json", tmp_path / "report.html"
    first = runner.invoke(
        cli, ["eval", gold, "--index", str(seed_index), "--retrieval-only", "-k", "3", "--json", str(ro), "--report", str(report)]
    )
    assert first.exit_code == 0, first.output
    payload = json.loads(ro.read_text(encoding="utf-8"))
    assert payload["settings"]["retrieval_only"] is True and payload["settings"]["k"] == 3
    assert payload["settings"]["embedder"] == "sentence-transformers/all-MiniLM-L6-v2"
    # Which embedder answered, with its precision: the ONNX export answers in int8 unless told otherwise.
    answered = (payload["settings"]["answer_embedder"], payload["settings"]["embed_precision"])
    assert answered in {("OnnxEmbedder", "int8"), ("SentenceTransformerEmbedder", "fp32"), ("SentenceTransformerEmbedder", "bf16")}
    assert payload["settings"]["chunking"]["chunk_tokens"] > 0
    assert payload["machine"]["cores"] >= 1 and payload["versions"]["rag-news"]
    assert "recall@3" in payload["metrics"] and "accuracy" not in payload["metrics"]
    row = payload["rows"][0]
    assert {"question", "gold", "retrieved", "timings", "hit_rank"} <= row.keys()
    assert len(row["retrieved"]) == 3 and {"chunk_id", "score"} <= row["retrieved"][0].keys()
    assert "recall@3" in first.stdout and "<html" not in first.stdout
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    second = runner.invoke(cli, ["eval", gold, "--index", str(seed_index), "--mode", "extractive", "--limit", "10", "--json", str(ex)])
    assert second.exit_code == 0, second.output
    diff_file = tmp_path / "diff.json"
    compared = runner.invoke(cli, ["eval", "--compare", str(ro), str(ex), "--json", str(diff_file)])
    assert compared.exit_code == 0, compared.output
    assert "mrr" in compared.stdout and "Fixed in B" in compared.stdout and "Broken in B" in compared.stdout
    diff = json.loads(diff_file.read_text(encoding="utf-8"))
    assert diff["only_in_a"] == 67 and diff["only_in_b"] == 0  # 77 questions against the first 10
    assert any(m["name"] == "answerable_accuracy" and m["a"] is None for m in diff["metrics"])


def test_eval_needs_gold_or_compare(runner):
    result = runner.invoke(cli, ["eval"])
    assert result.exit_code == 2 and "--compare" in result.output


def test_eval_compare_missing_file(runner, tmp_path):
    line = _one_line_error(runner.invoke(cli, ["eval", "--compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]))
    assert "not found" in line
