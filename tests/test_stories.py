"""Stories: syndicated and near-duplicate copies grouped (rag.stories), kept by the indexer,
used by retrieval, and shown on citations ("also in: ...") through the API, the page and the CLI."""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FakeLLM

import rag
from rag.answer.compose import with_copies
from rag.cli import cli
from rag.index import Index
from rag.indexer import update_index
from rag.store import open_store
from rag.stories import CONTAINMENT, Stories, containment, groups_of, signature, signatures
from rag.types import Answer, Article, Chunk, Citation, Copy
from rag.web import sources_html

STORY_CORPUS = Path(__file__).resolve().parent / "data" / "story"

# -- texts ------------------------------------------------------------------------------------
# One wire report in ten paragraphs; reprints take eight or nine of them, other reports a few.

P = [
    "PORT ELLIS, March 10 (Harbour Wire) - A fire that broke out in a warehouse at the Port Ellis container "
    "terminal on Monday night burned for eleven hours before firefighters brought it under control, the port "
    "authority said on Tuesday.",
    "Nobody was hurt, but about 300 containers were destroyed and the terminal's northern quay will stay closed "
    "for at least a week, authority spokeswoman Mara Velin said.",
    '"The fire spread from the warehouse roof to the stacks along the quay faster than anyone expected," Velin '
    'said. "Our crews did everything they could to keep it away from the fuel depot."',
    "Investigators from the regional fire service were at the scene on Tuesday morning and said it was too early "
    "to say what had caused the blaze.",
    "Shipping lines were told to divert vessels due this week to the southern quay or to the neighbouring port of "
    "Carrow, about 40 kilometres along the coast.",
    "Residents of the Saltmarsh district, downwind of the terminal, were advised to keep their windows closed "
    "overnight because of the smoke, but the advice was lifted at dawn.",
    "Port Ellis handles about a fifth of the country's container traffic and employs some 4,000 people, making it "
    "the largest employer in the province.",
    "The terminal was last shut in 2019, when a storm surge flooded the quays and halted loading for three days.",
    "Bus routes around the harbour ran on diversions on Tuesday while fire engines blocked the coast road, the "
    "transport company said.",
    "The port authority said it would publish a report on the fire within a month and meet shipping lines on "
    "Friday to agree a timetable for clearing the burnt stacks.",
]
QUOTE, BACKGROUND = P[2], P[6]

ORIGINAL = "\n\n".join(P[:8])
# A reprint under its own headline (kept in its text, as some pages do) without the Saltmarsh paragraph.
REPRINT_SHORTER = "\n\n".join(["Eleven-hour blaze shuts Port Ellis quay", *P[:5], *P[6:8]])
# A reprint with one paragraph more (the buses).
REPRINT_LONGER = "\n\n".join([*P[:8], P[8]])
# Another outlet's own report on the same fire: it shares Velin's quote and the background paragraph.
OTHER_REPORT = "\n\n".join(
    [
        "PORT ELLIS - Traders at the Port Ellis fish market said on Wednesday they feared losing weeks of business "
        "after Monday's terminal fire closed the road to the northern quay.",
        "Stallholder Ines Marlow said deliveries of ice and crates had stopped altogether and that buyers from the "
        "capital had cancelled their orders for the rest of the week.",
        QUOTE,
        "The dockworkers' union called for a review of safety rules at the terminal and asked why containers of "
        "flammable paint had been stacked next to the warehouse.",
        "Insurers estimated the damage at 40 million crowns, the chamber of commerce said, though it warned the "
        "figure could rise once the burnt containers had been inspected.",
        "The city council will hold an emergency meeting on Thursday to discuss compensation for businesses that "
        "cannot reach the quay.",
        BACKGROUND,
    ]
)
# The next day's update leads with the fire's cause and repeats the rest of Monday's report word for
# word: close enough for LSH to propose the pair, but under the containment a copy needs.
FOLLOW_UP = "\n\n".join(
    [
        "PORT ELLIS, March 11 (Harbour Wire) - Investigators said on Wednesday that an electrical fault probably "
        "started the fire that destroyed part of the Port Ellis container terminal.",
        *P[1:8],
    ]
)

BUDGET = (
    "Lawmakers approved the national budget late on Wednesday after a fourteen-hour debate in parliament, with "
    "121 votes in favour and 98 against.\n\n"
    "The finance minister, Olga Trent, said the plan would cut the deficit by a third within two years while "
    "raising spending on schools and rural hospitals.\n\n"
    "Opposition parties said the tax rises on fuel and tobacco would hit low-income households hardest and "
    "promised to challenge them in the upper chamber next month."
)
ELECTION = (
    "The incumbent mayor of Riverton, Tomas Grell, won a second term on Sunday with 61 percent of the vote, "
    "beating three challengers.\n\n"
    "Turnout was the highest in two decades, election officials said, with long queues outside polling stations "
    "in the old town well into the evening.\n\n"
    "Grell promised to finish the new tram line and to build 2,000 affordable homes before the end of his term."
)

FIRE_QUESTION = "How many containers were destroyed in the Port Ellis terminal fire?"


# -- a fast embedder: the model is not under test in the index and retrieval tests ------------


class WordHashEmbedder:
    """Bag-of-words vectors (words hashed into 64 buckets), normalised: texts sharing words are close.
    Records every text it embeds."""

    name = "test/word-hash-64"
    dim = 64
    max_tokens = 256

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts, *, progress: bool = False) -> np.ndarray:
        self.embedded.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row, 0] = 1e-3  # never a zero vector
            for word in re.findall(r"\w+", text.lower()):
                out[row, int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little") % self.dim] += 1
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def count_tokens(self, texts) -> list[int]:
        return [len(t.split()) for t in texts]


@pytest.fixture
def fake_embedder() -> WordHashEmbedder:
    return WordHashEmbedder()


def _txt(path: Path, title: str, body: str, *, source: str | None = None, date: str | None = None) -> Path:
    meta = (f"Source: {source}\n" if source else "") + (f"Date: {date}\n" if date else "")
    path.write_text(f"{title}\n{meta}\n{body}\n", encoding="utf-8")
    return path


def _jsonl(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@dataclass
class Stored:
    """What a store holds, read back through the store protocol (`rag.store.open_store`)."""

    manifest: dict
    articles: dict[str, Article]
    chunks: list[Chunk]
    signatures: dict[str, np.ndarray]
    generation: int
    vectors: dict[str, np.ndarray]  # by chunk text


def _read(index_dir: Path) -> Stored:
    store = open_store(index_dir)
    try:
        catalogue = store.catalogue()
        # Chunk j of article a has id "a-000j" (`rag.chunking`); the catalogue says how many each has.
        chunk_ids = [f"{i}-{j:04d}" for i, info in catalogue.items() for j in range(info.chunks)]
        chunks = store.chunks(chunk_ids)
        assert [c.id for c in chunks] == chunk_ids
        texts = sorted({c.text for c in chunks})
        vectors = dict(zip(texts, store.reusable(texts)))
        return Stored(
            store.manifest(), {a.id: a for a in store.articles(list(catalogue))}, chunks, store.signatures(),
            store.stats().generation, vectors,
        )
    finally:
        store.close()


def _pairs(index_dir: Path) -> list[list]:
    return _read(index_dir).manifest["stories"]["pairs"]


def _generation(index_dir: Path) -> int:
    return _read(index_dir).generation


def _id_of(data: Stored, title: str) -> str:
    return next(a.id for a in data.articles.values() if a.title == title)


# -- 1. pure Stories ------------------------------------------------------------------------------


@pytest.mark.parametrize("lsh", [True, False], ids=["lsh", "direct"])
def test_a_reprint_with_a_paragraph_dropped_or_added_and_a_new_headline_is_a_copy(lsh):
    assert containment(ORIGINAL, REPRINT_SHORTER) >= CONTAINMENT
    assert containment(ORIGINAL, REPRINT_LONGER) >= CONTAINMENT
    texts = {"wire": ORIGINAL, "shorter": REPRINT_SHORTER, "longer": REPRINT_LONGER}
    stories = Stories(texts.__getitem__, lsh=lsh)
    assert stories.add("wire", signature(ORIGINAL)) == []
    assert stories.add("shorter", signature(REPRINT_SHORTER)) == ["wire"]
    assert sorted(stories.add("longer", signature(REPRINT_LONGER))) == ["shorter", "wire"]
    assert [(a, b) for a, b, _ in stories.pair_list()] == [("longer", "shorter"), ("longer", "wire"), ("shorter", "wire")]
    assert all(CONTAINMENT <= s <= 1.0 for *_, s in stories.pair_list())
    order = {i: (i,) for i in texts}
    assert groups_of(stories.pair_list(), order) == {i: ["longer", "shorter", "wire"] for i in texts}


@pytest.mark.parametrize("lsh", [True, False], ids=["lsh", "direct"])
def test_a_different_report_on_the_same_event_is_not_a_copy(lsh):
    # It shares a quote and the background paragraph, and nothing else.
    assert QUOTE in OTHER_REPORT and BACKGROUND in OTHER_REPORT
    assert containment(ORIGINAL, OTHER_REPORT) < 0.5
    looked_up: list[str] = []
    texts = {"wire": ORIGINAL, "other": OTHER_REPORT, "follow-up": FOLLOW_UP}

    def text_of(doc_id: str) -> str:
        looked_up.append(doc_id)
        return texts[doc_id]

    stories = Stories(text_of, lsh=lsh)
    stories.add("wire", signature(ORIGINAL))
    assert stories.add("other", signature(OTHER_REPORT)) == []
    # The update shares all but its lead: LSH proposes the pair, the exact check turns it down.
    assert 0.8 < containment(ORIGINAL, FOLLOW_UP) < CONTAINMENT
    assert stories.add("follow-up", signature(FOLLOW_UP)) == []
    assert "follow-up" in looked_up, "the update was not proposed: this test no longer exercises the exact check"
    assert stories.pair_list() == []
    assert groups_of(stories.pair_list(), {i: (i,) for i in texts}) == {}


@pytest.mark.parametrize("lsh", [True, False], ids=["lsh", "direct"])
def test_remove_drops_the_pairs(lsh):
    texts = {"wire": ORIGINAL, "shorter": REPRINT_SHORTER, "longer": REPRINT_LONGER}
    stories = Stories(texts.__getitem__, lsh=lsh)
    for doc_id, text in texts.items():
        stories.add(doc_id, signature(text))
    assert len(stories.pair_list()) == 3
    stories.remove("wire")
    assert "wire" not in stories and len(stories) == 2
    assert [(a, b) for a, b, _ in stories.pair_list()] == [("longer", "shorter")]
    assert "wire" not in stories.pairs
    stories.remove("shorter")
    assert stories.pair_list() == [] and stories.pairs == {}
    stories.remove("never-added")  # nothing to do
    # A removed article is no longer proposed: a new copy finds only what is left.
    texts["again"] = ORIGINAL + "\n\nThis story was first published by Harbour Wire."
    assert stories.add("again", signature(texts["again"])) == ["longer"]


@pytest.mark.parametrize("lsh", [True, False], ids=["lsh", "direct"])
def test_adding_an_article_again_rechecks_its_pairs(lsh):
    texts = {"wire": ORIGINAL, "copy": REPRINT_LONGER}
    stories = Stories(lambda i: texts[i], lsh=lsh)
    stories.add("wire", signature(ORIGINAL))
    assert stories.add("copy", signature(REPRINT_LONGER)) == ["wire"]
    texts["copy"] = OTHER_REPORT  # the same id, now another text
    assert stories.add("copy", signature(OTHER_REPORT)) == []
    assert stories.pair_list() == [] and len(stories) == 2


def test_groups_of_puts_members_oldest_first_and_leaves_singletons_out():
    pairs = [["a", "b", 0.95], ["d", "e", 1.0], ["e", "gone", 1.0]]  # "gone" is in no order: ignored
    order = {
        "a": ("2026-03-03", "a"),
        "b": ("2026-03-01", "b"),
        "c": ("2026-03-02", "c"),  # in no pair
        "d": ("9999", "d"),  # undated sorts last
        "e": ("2026-03-05", "e"),
    }
    groups = groups_of(pairs, order)
    assert groups == {"a": ["b", "a"], "b": ["b", "a"], "d": ["e", "d"], "e": ["e", "d"]}
    assert "c" not in groups and "gone" not in groups
    assert groups["a"] is groups["b"]  # one list per story


def test_a_chain_of_copies_is_one_story():
    # B reprints A with two paragraphs more; C reprints B without A's first two: A~B, B~C, not A~C.
    a, b, c = "\n\n".join(P[:8]), "\n\n".join(P), "\n\n".join(P[2:])
    assert containment(a, b) >= CONTAINMENT and containment(b, c) >= CONTAINMENT > containment(a, c)
    texts = {"a": a, "b": b, "c": c}
    stories = Stories(texts.__getitem__)
    for doc_id in ("a", "c", "b"):
        stories.add(doc_id, signature(texts[doc_id]))
    assert [(x, y) for x, y, _ in stories.pair_list()] == [("a", "b"), ("b", "c")]
    order = {"a": ("2026-03-01",), "b": ("2026-03-02",), "c": ("2026-03-03",)}
    assert groups_of(stories.pair_list(), order) == {i: ["a", "b", "c"] for i in "abc"}
    # The same from bare pairs, given in any order.
    assert groups_of([["c", "b", 1], ["b", "a", 1]], order)["c"] == ["a", "b", "c"]


@pytest.mark.parametrize("lsh", [True, False], ids=["lsh", "direct"])
def test_load_restores_pairs_and_signatures_without_reading_texts(lsh):
    ids = ["wire", "shorter"]
    loaded = Stories(lsh=lsh)  # no text_of: load never checks a pair
    loaded.load(ids, signatures([ORIGINAL, REPRINT_SHORTER]), [["shorter", "wire", 0.98], ["wire", "deleted", 1.0]])
    assert loaded.pair_list() == [["shorter", "wire", 0.98]]  # a pair with an unknown article is dropped
    assert len(loaded) == 2 and "wire" in loaded
    # The loaded signatures are queried by the next article added.
    texts = {"wire": ORIGINAL, "shorter": REPRINT_SHORTER, "longer": REPRINT_LONGER}
    stories = Stories(texts.__getitem__, lsh=lsh)
    stories.load(ids, signatures([ORIGINAL, REPRINT_SHORTER]), loaded.pair_list())
    assert sorted(stories.add("longer", signature(REPRINT_LONGER))) == ["shorter", "wire"]
    # A loaded article taken out is no longer proposed; added again, it is, by its new signature.
    stories.remove("wire")
    texts["again"] = ORIGINAL + "\n\nThis story was first published by Harbour Wire."
    assert sorted(stories.add("again", signature(texts["again"]))) == ["longer", "shorter"]
    assert sorted(stories.add("wire", signature(ORIGINAL))) == ["again", "longer", "shorter"]
    # Without text_of a proposed pair can't be checked: that is an error, not a silent miss.
    with pytest.raises(ValueError, match="text_of"):
        loaded.add("longer", signature(REPRINT_LONGER))


def test_signatures_are_stable_uint32_rows():
    sigs = signatures([ORIGINAL, ORIGINAL, OTHER_REPORT])
    assert sigs.dtype == np.uint32 and sigs.shape == (3, 128)
    assert (sigs[0] == sigs[1]).all() and (sigs[0] == signature(ORIGINAL)).all()
    assert not (sigs[0] == sigs[2]).all()


# -- 2. the indexer, incrementally ----------------------------------------------------------------


def _fire_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _txt(corpus / "wire-fire.txt", "Fire shuts Port Ellis container quay", ORIGINAL, source="Harbour Wire", date="2026-03-10")
    _txt(corpus / "budget.txt", "Budget passes after long debate", BUDGET, source="Capital Post", date="2026-03-11")
    return corpus


COPY_ID = "gazette-2026-03-11-fire"


def _copy_record(text: str) -> dict:
    return {
        "id": COPY_ID,
        "title": "Eleven-hour blaze shuts Port Ellis quay",
        "source": "Coastal Gazette",
        "published": "2026-03-11",
        "text": text,
    }


def test_the_indexer_groups_copies_as_they_come_and_go(tmp_path, fake_embedder):
    corpus = _fire_corpus(tmp_path)
    index_dir = tmp_path / "index"
    first = update_index([corpus], index_dir, fake_embedder)
    assert first.articles == 2 and first.stories == 0 and first.grouped == 0
    data = _read(index_dir)
    assert data.manifest["stories"]["pairs"] == []
    original_id = _id_of(data, "Fire shuts Port Ellis container quay")
    old_texts = {c.text for c in data.chunks}
    assert set(data.signatures) == set(data.articles)  # every article is stored with its signature

    # A copy from another outlet, under its own headline, with one paragraph more.
    fake_embedder.embedded.clear()
    _jsonl(corpus / "gazette.jsonl", _copy_record(REPRINT_LONGER))
    added = update_index([corpus], index_dir, fake_embedder)
    assert added.added == [COPY_ID] and not added.updated and not added.removed
    assert added.grouped == 2 and added.stories == 1
    assert [p[:2] for p in _pairs(index_dir)] == [sorted([original_id, COPY_ID])]
    assert _pairs(index_dir)[0][2] >= CONTAINMENT
    # Only the new article was embedded: those of its chunks whose text no chunk had yet.
    data = _read(index_dir)
    copy_chunks = [c.text for c in data.chunks if c.doc_id == COPY_ID]
    assert copy_chunks
    assert fake_embedder.embedded == [t for t in copy_chunks if t not in old_texts]
    assert added.embedded == len(fake_embedder.embedded) > 0
    assert all(t in REPRINT_LONGER for t in fake_embedder.embedded)
    assert added.reused == added.chunks - added.embedded

    # Nothing changed: the story count comes from the manifest and nothing is written.
    gen = _generation(index_dir)
    again = update_index([corpus], index_dir, fake_embedder)
    assert _generation(index_dir) == gen
    assert again.grouped == 2 and again.stories == 1 and again.embedded == 0

    # An unrelated article comes: the pair between the two unchanged articles is kept.
    pairs = _pairs(index_dir)
    _txt(corpus / "election.txt", "Mayor wins second term", ELECTION, source="Riverton Times", date="2026-03-09")
    unrelated = update_index([corpus], index_dir, fake_embedder)
    assert len(unrelated.added) == 1 and unrelated.grouped == 2 and unrelated.stories == 1
    assert _pairs(index_dir) == pairs

    # The copy is rewritten into another report (same id): the group is gone.
    _jsonl(corpus / "gazette.jsonl", _copy_record(OTHER_REPORT))
    changed = update_index([corpus], index_dir, fake_embedder)
    assert changed.updated == [COPY_ID]
    assert changed.grouped == 0 and changed.stories == 0 and _pairs(index_dir) == []
    assert Index.load(index_dir, fake_embedder).stories == {}

    # Copied again, then the original is deleted: the group is gone with it.
    _jsonl(corpus / "gazette.jsonl", _copy_record(REPRINT_LONGER))
    readded = update_index([corpus], index_dir, fake_embedder)
    assert readded.updated == [COPY_ID] and readded.stories == 1 and readded.grouped == 2
    (corpus / "wire-fire.txt").unlink()
    deleted = update_index([corpus], index_dir, fake_embedder)
    assert deleted.removed == [original_id]
    assert deleted.grouped == 0 and deleted.stories == 0 and _pairs(index_dir) == []
    index = Index.load(index_dir, fake_embedder)
    assert index.stories == {} and index.also_in(COPY_ID) == [] and index.story_of(COPY_ID) == COPY_ID


def test_an_edited_copy_under_a_new_file_name_is_grouped_again(tmp_path, fake_embedder):
    # .txt articles have no explicit id (it is the text's hash): an edit is one removal and one addition.
    corpus = _fire_corpus(tmp_path)
    index_dir = tmp_path / "index"
    _txt(corpus / "courier.txt", "Port Ellis quay shut after blaze", REPRINT_SHORTER, source="Daily Courier")
    first = update_index([corpus], index_dir, fake_embedder)
    assert first.stories == 1 and first.grouped == 2
    old_copy = _id_of(_read(index_dir), "Port Ellis quay shut after blaze")
    _txt(corpus / "courier.txt", "Port Ellis quay shut after blaze", REPRINT_SHORTER.replace("Tuesday", "Tuesday morning"),
         source="Daily Courier")
    edited = update_index([corpus], index_dir, fake_embedder)
    assert edited.removed == [old_copy] and len(edited.added) == 1
    assert edited.stories == 1 and edited.grouped == 2
    assert old_copy not in {i for p in _pairs(index_dir) for i in p[:2]}
    assert edited.added[0] in {i for p in _pairs(index_dir) for i in p[:2]}


def test_an_exact_duplicate_text_is_stored_once_and_is_no_story(tmp_path, fake_embedder):
    corpus = _fire_corpus(tmp_path)
    _txt(corpus / "zz-same-text.txt", "Another headline for the same text", ORIGINAL, source="Daily Courier")
    report = update_index([corpus], tmp_path / "index", fake_embedder)
    assert report.articles == 2 and report.duplicates == 1
    assert report.grouped == 0 and report.stories == 0
    data = _read(tmp_path / "index")
    assert [a.title for a in data.articles.values() if a.text == ORIGINAL] == ["Fire shuts Port Ellis container quay"]


# -- 3. upgrading an index from before stories ---------------------------------------------------


def _as_before_stories(index_dir: Path, rule: str | None = None) -> None:
    """Make the store look as one written before story grouping (no "stories" in its manifest), or
    grouped under another ``rule``: the manifest is committed as the indexer commits every one."""
    store = open_store(index_dir)
    try:
        manifest = store.manifest()
        manifest.pop("stories")
        if rule is not None:
            manifest["stories"] = {"rule": rule, "pairs": []}
        with store.writing():
            store.commit(manifest)
    finally:
        store.close()


@pytest.mark.parametrize("rule", [None, "an older rule"], ids=["never-grouped", "other-rule"])
def test_an_index_from_before_stories_is_grouped_without_re_embedding(tmp_path, fake_embedder, rule):
    corpus = _fire_corpus(tmp_path)
    _jsonl(corpus / "gazette.jsonl", _copy_record(REPRINT_LONGER))
    index_dir = tmp_path / "index"
    built = update_index([corpus], index_dir, fake_embedder)
    assert built.stories == 1
    # Two commits, so that the upgrade works over more than one write.
    _txt(corpus / "election.txt", "Mayor wins second term", ELECTION, date="2026-03-09")
    update_index([corpus], index_dir, fake_embedder)
    _as_before_stories(index_dir, rule)
    old = _read(index_dir)  # still a sound index...
    assert old.manifest.get("stories", {}).get("pairs", []) == []
    assert Index.load(index_dir, fake_embedder).stories == {}  # ...that knows no stories

    fake_embedder.embedded.clear()
    upgraded = update_index([corpus], index_dir, fake_embedder)
    assert upgraded.embedded == 0 and fake_embedder.embedded == [] and upgraded.reused == upgraded.chunks
    assert not upgraded.added and not upgraded.updated and not upgraded.removed and not upgraded.notes
    assert upgraded.grouped == 2 and upgraded.stories == 1
    data = _read(index_dir)
    assert [p[:2] for p in data.manifest["stories"]["pairs"]] == [
        sorted([_id_of(old, "Fire shuts Port Ellis container quay"), COPY_ID])
    ]
    assert set(data.signatures) == set(data.articles) == set(old.articles)
    assert data.chunks == old.chunks and data.vectors.keys() == old.vectors.keys()
    assert all(np.array_equal(data.vectors[t], old.vectors[t]) for t in old.vectors)
    assert data.generation == old.generation + 1
    assert Index.load(index_dir, fake_embedder).story_of(COPY_ID) == _id_of(old, "Fire shuts Port Ellis container quay")
    # Upgraded once: the next run finds nothing to do.
    assert update_index([corpus], index_dir, fake_embedder).stories == 1
    assert _generation(index_dir) == data.generation


# -- 4. Index.story_of / also_in, and retrieval -----------------------------------------------------

# Ids in the opposite order to their dates, so that "oldest first" can't pass as "sorted by id".
COPIES = [
    {"id": "z-wire", "title": "Fire shuts Port Ellis container quay", "source": "Harbour Wire",
     "published": "2026-03-10", "text": ORIGINAL},
    {"id": "m-courier", "title": "Port Ellis quay shut after blaze", "source": "Daily Courier",
     "published": "2026-03-11", "text": REPRINT_SHORTER},
    {"id": "a-gazette", "title": "Eleven-hour blaze shuts Port Ellis quay", "source": "Coastal Gazette & <Times>",
     "published": "2026-03-12", "text": REPRINT_LONGER},
]
OTHERS = [
    {"id": "budget", "title": "Budget passes after long debate", "source": "Capital Post",
     "published": "2026-03-11", "text": BUDGET},
    {"id": "election", "title": "Mayor wins second term", "source": "Riverton Times", "published": "2026-03-09",
     "text": ELECTION},
]


def _index_of(tmp_path: Path, embedder, records: list[dict]) -> Index:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _jsonl(corpus / "articles.jsonl", *records)
    report = update_index([corpus], tmp_path / "index", embedder)
    assert report.articles == len(records) and not report.issues
    return Index.load(tmp_path / "index", embedder)


def test_story_of_and_also_in(tmp_path, fake_embedder):
    index = _index_of(tmp_path, fake_embedder, COPIES + OTHERS)
    oldest_first = ["z-wire", "m-courier", "a-gazette"]
    assert {i: index.stories[i] for i in oldest_first} == {i: oldest_first for i in oldest_first}
    assert set(index.stories) == set(oldest_first)
    assert all(index.story_of(i) == "z-wire" for i in oldest_first)
    assert index.also_in("m-courier") == ["z-wire", "a-gazette"]
    assert index.also_in("z-wire") == ["m-courier", "a-gazette"]
    assert index.story_of("budget") == "budget" and index.also_in("budget") == []


def test_search_per_doc_takes_one_passage_per_story(tmp_path, fake_embedder):
    index = _index_of(tmp_path, fake_embedder, COPIES + OTHERS)
    copies = {r["id"] for r in COPIES}
    # Capped per article only, the three copies take every place.
    by_article = index.retriever.search(FIRE_QUESTION, 3, per_doc=1)
    assert {p.chunk.doc_id for p in by_article} == copies
    # Capped per story, the copies count once.
    hits = index.search(FIRE_QUESTION, k=3, per_doc=1)
    assert len(hits) == 3
    assert len({index.story_of(p.chunk.doc_id) for p in hits}) == 3
    assert sum(p.chunk.doc_id in copies for p in hits) == 1
    assert {p.chunk.doc_id for p in hits} - copies == {"budget", "election"}
    assert hits[0].chunk.doc_id in copies  # the story asked about still comes first


def test_a_one_story_corpus_still_fills_k(tmp_path, fake_embedder):
    index = _index_of(tmp_path, fake_embedder, COPIES)
    assert index.size >= 3
    hits = index.search(FIRE_QUESTION, k=3, per_doc=1)
    assert len(hits) == 3 and len({p.chunk.id for p in hits}) == 3
    assert [p.score for p in hits] == sorted((p.score for p in hits), reverse=True)


# -- 5. citations: with_copies, also_in, the page --------------------------------------------------


def _citation(doc_id: str, n: int = 1, **kw) -> Citation:
    text = "Nobody was hurt, but about 300 containers were destroyed."
    defaults = dict(
        n=n, doc_id=doc_id, title="Fire shuts Port Ellis container quay", published="2026-03-10T08:30:00Z",
        text=text, start=100, end=100 + len(text), score=0.9, quote=text, passage_start=100, source="Harbour Wire",
    )
    return Citation(**{**defaults, **kw})


ARTICLES = {
    r["id"]: Article(id=r["id"], title=r["title"], text=r["text"], source=r["source"], published=r["published"])
    for r in COPIES + OTHERS
}
ARTICLES["untitled-source"] = Article(id="untitled-source", title="Blaze at the port", text=ORIGINAL)


def test_with_copies_lists_the_other_outlets():
    stories = {"z-wire": ["m-courier", "a-gazette", "not-in-articles"], "budget": []}
    cited = [_citation("z-wire"), _citation("budget", n=2, source="Capital Post")]
    out = with_copies(cited, ARTICLES, lambda d: stories.get(d, []))
    assert out[0].also_in == (
        Copy("m-courier", "Port Ellis quay shut after blaze", "Daily Courier", "2026-03-11"),
        Copy("a-gazette", "Eleven-hour blaze shuts Port Ellis quay", "Coastal Gazette & <Times>", "2026-03-12"),
    )
    assert out[0].also_in_text == "Daily Courier, Coastal Gazette & <Times>"
    assert out[1] == cited[1] and out[1].also_in == () and out[1].also_in_text == ""
    assert cited[0].also_in == ()  # the input is left as it was
    # An outlet-less copy is named by its headline.
    named = with_copies([_citation("z-wire")], ARTICLES, lambda d: ["untitled-source", "m-courier"])
    assert named[0].also_in_text == "Blaze at the port, Daily Courier"


def test_citation_day():
    assert _citation("z-wire").day == "2026-03-10"
    assert _citation("z-wire", published="2026-03-10").day == "2026-03-10"
    assert _citation("z-wire", published=None).day == "date unknown"


def test_citation_to_dict_serialises_also_in():
    c = with_copies([_citation("z-wire")], ARTICLES, lambda d: ["m-courier", "a-gazette"])[0]
    d = json.loads(json.dumps(c.to_dict()))
    assert d["also_in"] == [
        {"doc_id": "m-courier", "title": "Port Ellis quay shut after blaze", "source": "Daily Courier",
         "published": "2026-03-11"},
        {"doc_id": "a-gazette", "title": "Eleven-hour blaze shuts Port Ellis quay", "source": "Coastal Gazette & <Times>",
         "published": "2026-03-12"},
    ]
    assert all(isinstance(x, dict) for x in c.to_dict()["also_in"])
    assert json.loads(json.dumps(_citation("budget").to_dict()))["also_in"] == []


def test_sources_html_shows_also_in_escaped():
    copies = {"z-wire": ["m-courier", "a-gazette"]}
    cited = with_copies([_citation("z-wire"), _citation("budget", n=2)], ARTICLES, lambda d: copies.get(d, []))
    page = sources_html(Answer(question="q", text="t [1][2]", citations=cited))
    assert page.count('class="also-in"') == 1
    assert f'<div class="also-in">also in: {html.escape("Daily Courier, Coastal Gazette & <Times>")}</div>' in page
    assert "<Times>" not in page and "Coastal Gazette &amp; &lt;Times&gt;" in page
    first, second = page.split('id="source-2"')
    assert "also in:" in first and "also in:" not in second


# -- 6. end to end: the assistant and `rag ask --json` ----------------------------------------------

NPA = {"Northern Sentinel", "Capital Post", "Radio Ostmere"}  # the three outlets printing the NPA wire story
HELICOPTERS = "How many army helicopters joined the rescue operation on Tuesday?"
TUESDAY = "2026-03-03"


@pytest.fixture(scope="module")
def story_index(tmp_path_factory, embedder) -> Path:
    """The story corpus indexed with the real embedder (read-only)."""
    index_dir = tmp_path_factory.mktemp("story") / "index"
    report = update_index([STORY_CORPUS], index_dir, embedder)
    assert not report.issues, report.issues
    assert report.grouped == 3 and report.stories == 1, report.to_dict()
    return index_dir


def _check_npa_citation(c: dict | Citation) -> None:
    c = c if isinstance(c, dict) else json.loads(json.dumps(c.to_dict()))
    assert c["source"] in NPA
    assert "Four army helicopters joined the operation on Tuesday" in c["quote"]
    assert {x["source"] for x in c["also_in"]} == NPA - {c["source"]}
    assert len(c["also_in"]) == 2 and c["doc_id"] not in {x["doc_id"] for x in c["also_in"]}
    assert all(x["published"] and x["published"][:10] == TUESDAY for x in c["also_in"])


def test_an_answer_from_a_copied_story_lists_the_other_outlets(story_index, embedder, seed_reader):
    assistant = rag.Assistant.load(story_index, embedder=embedder, llm=FakeLLM(), reader=seed_reader, mode="extractive")
    story = next(iter(assistant.index.stories.values()))
    assert {assistant.index.articles[i].source for i in story} == NPA
    answer = assistant.ask(HELICOPTERS, as_of=TUESDAY)
    assert not answer.abstained, answer.text
    assert answer.citations
    _check_npa_citation(answer.citations[0])
    cited = answer.citations[0]
    assert cited.also_in_text == ", ".join(assistant.index.articles[i].source for i in story if i != cited.doc_id)
    # The sources shown hold one passage of the story, not one per copy.
    assert sum(p.chunk.doc_id in story for p in answer.passages) == 1
    assert "also in: " in sources_html(answer)




def test_rag_ask_json_carries_also_in(story_index, shared_models):
    args = ["ask", HELICOPTERS, "--index", str(story_index), "--mode", "extractive", "--as-of", TUESDAY]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert not answer["abstained"]
    _check_npa_citation(answer["citations"][0])
    also = answer["citations"][0]["also_in"]
    assert set(also[0]) == {"doc_id", "title", "source", "published"}
    # Without --json the citation line is followed by the other outlets.
    plain = CliRunner().invoke(cli, args)
    assert plain.exit_code == 0, plain.output
    line = next(x for x in plain.stdout.splitlines() if x.strip().startswith("also in: "))
    assert {s.strip() for s in line.split("also in: ", 1)[1].split(",")} == {x["source"] for x in also}


def test_also_in_lists_no_copy_published_after_the_day_asked(tmp_path, embedder, seed_reader):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _txt(corpus / "wire.txt", "Fire shuts Port Ellis container quay", ORIGINAL, source="Harbour Wire", date="2026-03-10")
    _txt(corpus / "review.txt", "Port Ellis blaze: a look back", REPRINT_LONGER, source="Weekly Review", date="2026-03-20")
    assistant = rag.Assistant.build(
        corpus, tmp_path / "index", embedder=embedder, llm=FakeLLM(), reader=seed_reader, mode="extractive"
    )
    assert assistant.last_report.stories == 1
    answer = assistant.ask("How many containers were destroyed in the fire?", as_of="2026-03-11")
    assert not answer.abstained and answer.citations[0].source == "Harbour Wire"
    # Asked on March 11, the assistant uses no later article, and names none either.
    assert [c.source for c in answer.citations[0].also_in] == []

