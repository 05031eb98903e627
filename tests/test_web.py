"""What the chat page renders and accepts: escaping, highlighting, safe uploads."""

from __future__ import annotations

import pytest

from rag.errors import RagError
from rag.types import Answer, Article, Citation
from rag.web import answer_markdown, article_html, safe_name, save_pasted, save_upload, sources_html

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _citation(text: str, start: int, end: int, passage_start: int = 100) -> Citation:
    return Citation(
        n=1, doc_id="d1", title="T <b>", published="2022-01-06", text=text, start=start, end=end, score=1.0,
        quote=text[start - passage_start : end - passage_start], passage_start=passage_start,
    )


def test_sources_panel_highlights_the_cited_sentence_and_escapes_everything():
    passage = f"Intro. {PAYLOAD} At least 2,000 people were arrested. Outro."
    at = passage.index("At least")
    end = passage.index(" Outro")
    cite = _citation(passage, 100 + at, 100 + end)
    html_out = sources_html(Answer(question="q", text="x [1]", citations=[cite]))
    assert '<mark class="cited">At least 2,000 people were arrested.</mark>' in html_out
    assert "<script>" not in html_out and "<img" not in html_out
    assert "&lt;script&gt;" in html_out and "T &lt;b&gt;" in html_out


def test_abstention_is_set_apart_from_answers():
    abstained = answer_markdown(Answer(question="q", text="The indexed articles don't say.", abstained=True))
    answered = answer_markdown(Answer(question="q", text="At least 2,000 people [1]."))
    assert abstained.startswith("> ⚠️") and "Not in the articles" in abstained
    assert not answered.startswith(">")
    assert "No source answers" in sources_html(Answer(question="q", text="", abstained=True))


def test_short_answer_leads_in_bold_and_sources_show_outlet_and_date():
    text = "At least 2,000. At least 2,000 people have reportedly been arrested. [1]"
    out = answer_markdown(Answer(question="q", text=text, short="At least 2,000"))
    assert out.startswith("**At least 2,000**\n\n") and out.endswith("arrested. [1]")
    passage = "At least 2,000 people have reportedly been arrested."
    dated = _citation(passage, 100, 100 + len(passage))
    card = sources_html(Answer(question="q", text=text, citations=[Citation(**{**dated.to_dict(), "source": "Reuters"})]))
    assert "· Reuters · 2022-01-06" in card
    undated = sources_html(Answer(question="q", text=text, citations=[Citation(**{**dated.to_dict(), "published": None})]))
    assert "date unknown" in undated


def test_answer_text_is_escaped():
    out = answer_markdown(Answer(question="q", text=f"He said {PAYLOAD} [1]."))
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_article_view_escapes_and_marks_the_span():
    art = Article(id="a", title="Title", text=f"{PAYLOAD} Second sentence.", source="CNN")
    out = article_html(art, len(PAYLOAD) + 1, len(art.text))
    assert "<script>" not in out
    assert '<mark class="cited">Second sentence.</mark>' in out


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\evil.md", "evil.md"),
        ("/abs/path/News Story (1).HTML", "News_Story_1_.html"),
        ("..", "article"),
        ("", "article"),
    ],
)
def test_safe_name_never_leaves_the_folder(name, expected):
    assert safe_name(name) == expected


def test_upload_stays_in_the_corpus_and_respects_type_and_size(tmp_path):
    src = tmp_path / "upload.bin"
    src.write_text("Title\n\nBody text.")
    corpus = tmp_path / "corpus"
    saved = save_upload(src, "../../outside.txt", corpus)
    assert saved.parent == corpus and saved.name == "outside.txt"
    again = save_upload(src, "outside.txt", corpus)
    assert again.name == "outside-1.txt"  # never overwrites an existing article
    with pytest.raises(RagError, match="file type not allowed"):
        save_upload(src, "evil.exe", corpus)
    with pytest.raises(RagError, match="upload limit"):
        save_upload(src, "big.txt", corpus, max_bytes=5)
    assert not (tmp_path / "outside.txt").exists()


def test_pasted_article_needs_title_and_text(tmp_path):
    path = save_pasted("My title", "Some text.", tmp_path)
    assert path.read_text().startswith("My title\n\nSome text.")
    with pytest.raises(RagError, match="title"):
        save_pasted("  ", "text", tmp_path)
    with pytest.raises(RagError, match="text"):
        save_pasted("t", "   ", tmp_path)


def test_many_concurrent_uploads_of_one_name_all_survive_whole(tmp_path):
    """Twenty threads saving "same.txt" at once: twenty files, each whole, none overwritten, no temp left."""
    from concurrent.futures import ThreadPoolExecutor

    corpus = tmp_path / "corpus"
    sources = []
    for i in range(20):
        src = tmp_path / f"src-{i}.txt"
        src.write_text(f"Title {i}\n\n" + f"Body {i}. " * 2000)
        sources.append(src)
    with ThreadPoolExecutor(8) as pool:
        saved = list(pool.map(lambda s: save_upload(s, "same.txt", corpus), sources))
    assert len(set(saved)) == 20
    assert sorted(p.read_text() for p in saved) == sorted(s.read_text() for s in sources)
    assert sorted(p.name for p in corpus.iterdir()) == sorted(p.name for p in saved)  # no hidden .part left


def test_an_upload_is_invisible_until_complete(tmp_path, monkeypatch):
    """While the content is being written, the corpus holds no file a scan would load."""
    import shutil

    from rag.indexer import corpus_files

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    src = tmp_path / "src.txt"
    src.write_text("Title\n\nBody.")
    seen: list[list[str]] = []
    real_copy = shutil.copyfileobj

    def copy_and_look(fsrc, fdst, *args):
        real_copy(fsrc, fdst, *args)
        seen.append([p.name for p in corpus_files(corpus)])  # mid-write: after the bytes, before the name

    monkeypatch.setattr(shutil, "copyfileobj", copy_and_look)
    saved = save_upload(src, "story.txt", corpus)
    assert seen == [[]]
    assert [p.name for p in corpus_files(corpus)] == ["story.txt"] and saved.read_text() == "Title\n\nBody."


def test_upload_without_hard_links_claims_the_name_then_replaces(tmp_path, monkeypatch):
    import os

    def no_links(*_a, **_k):
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    src = tmp_path / "src.txt"
    src.write_text("Title\n\nBody.")
    corpus = tmp_path / "corpus"
    first = save_upload(src, "a.txt", corpus)
    second = save_upload(src, "a.txt", corpus)
    assert (first.name, second.name) == ("a.txt", "a-1.txt")
    assert first.read_text() == second.read_text() == "Title\n\nBody."
    assert sorted(p.name for p in corpus.iterdir()) == ["a-1.txt", "a.txt"]
