"""Models named by Hugging Face reference, resolved offline from a cache folder the test builds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.errors import RagError
from rag.llm import parse_hub_ref, shipped_model_path, spec_of
from rag.llm.resolve import HubRef, cached_hub_file

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def make_cache(root: Path, repo: str, files: dict[str, Path | bytes]) -> Path:
    """A Hugging Face hub cache holding ``files`` of ``repo`` at ``main``, laid out as huggingface_hub does
    (blobs, a snapshot of links to them, and the ref)."""
    folder = root / ("models--" + repo.replace("/", "--"))
    (folder / "refs").mkdir(parents=True, exist_ok=True)
    (folder / "refs" / "main").write_text(COMMIT)
    snapshot = folder / "snapshots" / COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    (folder / "blobs").mkdir(exist_ok=True)
    for i, (name, content) in enumerate(files.items()):
        blob = folder / "blobs" / f"{i:064x}"
        if isinstance(content, bytes):
            blob.write_bytes(content)
        else:
            shutil.copyfile(content, blob)
        (snapshot / name).symlink_to(Path("../../blobs") / blob.name)
    return root


FAKE_GGUF = b"GGUF" + b"\0" * 60


@pytest.mark.parametrize(
    "text, ref",
    [
        ("Qwen/Qwen2.5-1.5B-Instruct-GGUF:q4_k_m", HubRef("Qwen/Qwen2.5-1.5B-Instruct-GGUF", "q4_k_m")),
        ("bartowski/SmolLM2-135M-Instruct-GGUF", HubRef("bartowski/SmolLM2-135M-Instruct-GGUF")),
        ("models/qwen.gguf", None),
        ("~/models/qwen2.5-3b-instruct-q4_k_m.gguf", None),
        ("./owner/repo", None),
        ("/abs/owner/repo", None),
        ("just-a-name", None),
    ],
)
def test_hub_references_are_told_from_paths(text, ref):
    assert parse_hub_ref(text) == ref


def test_an_existing_file_is_a_path_even_when_it_looks_like_a_reference(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "owner").mkdir()
    (tmp_path / "owner" / "repo").write_bytes(FAKE_GGUF)
    assert spec_of("owner/repo").kind == "path"


def test_the_quant_picks_one_file_case_insensitively(tmp_path):
    cache = make_cache(tmp_path, "org/Model-GGUF", {"model-Q4_K_M.gguf": FAKE_GGUF, "model-Q8_0.gguf": FAKE_GGUF})
    found = cached_hub_file(HubRef("org/Model-GGUF", "q4_k_m"), cache)
    assert found is not None and found.name == "model-Q4_K_M.gguf" and found.read_bytes() == FAKE_GGUF
    assert cached_hub_file(HubRef("org/Model-GGUF", "q5_k_m"), cache) is None
    assert cached_hub_file(HubRef("org/Other-GGUF", "q4_k_m"), cache) is None
    with pytest.raises(RagError, match=r"matches 2 files .*add the quantisation"):
        cached_hub_file(HubRef("org/Model-GGUF"), cache)


def test_offline_without_a_cached_copy_is_one_line_saying_how_to_get_it(tmp_path, monkeypatch, seed_index, embedder):
    import rag

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RagError) as info:
        rag.Assistant.load(seed_index, embedder=embedder, model="org/Missing-GGUF:q4_k_m")
    message = str(info.value)
    assert "\n" not in message
    assert "org/Missing-GGUF:q4_k_m is not in the Hugging Face cache" in message
    assert "HF_HUB_OFFLINE=0 rag models --pull org/Missing-GGUF:q4_k_m" in message


def test_rag_models_lists_shipped_cached_and_recommended(tmp_path, monkeypatch):
    make_cache(tmp_path, "org/Model-GGUF", {"model-q4_k_m.gguf": FAKE_GGUF, "README.md": b"# card"})
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    result = CliRunner().invoke(cli, ["models", "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    assert [e["name"] for e in listing["cached"]] == ["org/Model-GGUF:model-q4_k_m.gguf"]
    assert listing["shipped"]["path"] == str(shipped_model_path())
    assert any(e["name"].startswith("Qwen/") and e["size_mb"] for e in listing["recommended"])
    text = CliRunner().invoke(cli, ["models"])
    assert "org/Model-GGUF:model-q4_k_m.gguf" in text.output and "recommended" in text.output


def test_pull_of_something_that_is_not_a_reference_fails_in_one_line():
    result = CliRunner().invoke(cli, ["models", "--pull", "not-a-ref"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["Error: 'not-a-ref' is not a hub reference; write OWNER/REPO or OWNER/REPO:QUANT"]


@pytest.mark.slow
def test_a_cached_reference_runs_offline_as_the_named_model(tmp_path, monkeypatch, seed_index, embedder, seed_reader):
    """The shipped GGUF, cached as if fetched from the hub, answers by its reference with no network."""
    import rag

    cache = make_cache(tmp_path, "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", {"smollm2-135m-instruct-q4_1.gguf": shipped_model_path()})
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ref = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF:q4_1"
    assistant = rag.Assistant.load(seed_index, embedder=embedder, reader=seed_reader, model=ref, mode="generative")
    assert assistant.model_name == ref
    answer = assistant.ask("What caused the protests?")
    assert answer.citations and not answer.abstained
    assert assistant.llm.loaded.path.resolve().parent.name == "blobs"  # it read the cached copy


def test_the_fetch_glob_matches_either_case_as_from_pretrained_matches():
    from fnmatch import fnmatchcase

    glob = HubRef("org/Model-GGUF", "q4_k_m").hub_glob
    assert fnmatchcase("Model-Q4_K_M.gguf", glob) and fnmatchcase("sub/model-q4_k_m.gguf", glob)
    assert not fnmatchcase("model-Q8_0.gguf", glob) and not fnmatchcase("model-Q4_K_M.bin", glob)
