"""Story grouping (`rag.stories`) on realtimeqa-2023: what it costs, and what it changes.

Measures, on a realtimeqa-2023 index (a `rag.store` folder):

1. cost      MinHash signatures of every corpus article and the LSH pair search
             (`Stories.add` per article), against the index's full build time.
2. upgrade   `update_index` on an index whose manifest holds no story pairs of the
             current rule (``--forget-stories`` drops them first): grouping every
             stored article from its stored signature, embedding nothing.
3. update    one new article (a reprint of an indexed one, new headline, one added
             paragraph) in a new corpus root: the update's time and whether it was
             grouped; then the file is deleted and that update timed too.
4. groups    near-duplicate groups and grouped articles, which of them are boilerplate
             pages, the exact-text duplicates the indexer drops before grouping, and an
             exhaustive containment check of every pair (what LSH could have missed).
5. pairs     a seed-0 sample of grouped pairs (at most ``--cap`` from the biggest
             boilerplate group) written to pairs.md for reading, topped up with the
             closest pairs the rule did not group; verdicts (``--verdicts``) give precision.
6. retrieval the 386 gold questions retrieved as the assistant does (`plan`, k=5, each
             question's date as as_of) with grouping on and off (``index.stories = {}``):
             the share of top-5 results that copy an earlier top-5 result, and recall@5.

    cp -a /tmp/rtqa/index /tmp/storybench/index          # work on a copy
    python benchmarks/stories.py --index /tmp/storybench/index --data ../shared/data/realtimeqa-2023

Results go to OUT/stories.json (each step's figures, merged with earlier runs) and a table
on stdout; ``--steps`` runs some of them. The upgrade step runs once: on an index that
is already grouped it only reports that (``--copy-from`` makes a fresh copy first,
``--forget-stories`` drops the pairs from its manifest to group it again).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STEPS = ("cost", "upgrade", "update", "groups", "pairs", "retrieval")
_WORD4 = re.compile(r"[a-z]{4,}")
_SPACE = re.compile(r"\s+")


# -- helpers -------------------------------------------------------------------
def _embedder():
    from rag.embedder import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder()  # what Assistant.load builds when given none
    emb.embed(["warm up"])
    return emb


def _build_seconds(log: Path, fallback: float) -> dict:
    """The full build's time from a `/usr/bin/time -v rag index` log."""
    out = {"log": str(log), "seconds": fallback, "from": "fallback"}
    if not log.is_file():
        return out
    text = log.read_text(encoding="utf-8", errors="replace")
    m = re.search(r"chunks embedded.*? in ([\d.]+)s", text)
    if m:
        out.update(seconds=float(m.group(1)), **{"from": "rag index report"})
    w = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    if w:
        parts = [float(p) for p in w.group(1).split(":")]
        out["wall_seconds"] = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    m = re.search(r"^(\d+) articles, (\d+) chunks", text, re.M)
    if m:
        out["articles"], out["chunks"] = int(m.group(1)), int(m.group(2))
    return out


def _manifest(index_dir: Path) -> dict:
    from rag.store import open_store

    store = open_store(index_dir)
    try:
        return store.manifest() or {}
    finally:
        store.close()


def _store_state(index_dir: Path) -> dict:
    """The store's generation and vector files, and the bytes its MinHash signatures take."""
    from rag.store import open_store

    store = open_store(index_dir)
    try:
        stats = store.stats()
        return {"generation": stats.generation, "vector_files": stats.details.get("vector_files"),
                "signature_bytes": sum(s.nbytes for s in store.signatures().values())}
    finally:
        store.close()


def _live_articles(index_dir: Path) -> dict:
    """The store's articles, by id, texts included (no vectors loaded)."""
    from rag.store import open_store

    store = open_store(index_dir)
    try:
        return {a.id: a for a in store.articles(list(store.catalogue()))}
    finally:
        store.close()


def _site(url: str | None) -> str:
    return (url or "").split("/")[2] if url and "//" in url else "?"


def _title_cover(title: str, text: str) -> float:
    """The share of the title's longer words that the text uses (low: the text is not about the title)."""
    words = set(_WORD4.findall(title.lower()))
    return len(words & set(_WORD4.findall(text.lower()))) / max(1, len(words))


def _title_jaccard(a: str, b: str) -> float:
    x, y = set(_WORD4.findall(a.lower())), set(_WORD4.findall(b.lower()))
    return len(x & y) / max(1, len(x | y))


def boilerplate(members: list) -> bool:
    """A group of pages is boilerplate when its shared text is not their story: most pages'
    text uses under 30% of their own title's words and the titles differ from each other
    (the Week UK's newsletter-registration text under 56 different headlines)."""
    if len(members) < 2:
        return False
    off_title = sum(_title_cover(a.title, a.text) < 0.3 for a in members)
    titles = [a.title for a in members]
    differ = statistics.mean(_title_jaccard(x, y) for i, x in enumerate(titles) for y in titles[i + 1 :]) < 0.3
    return off_title * 2 > len(members) and differ


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


# -- 1. cost -------------------------------------------------------------------
def step_cost(args) -> dict:
    from rag.loaders import load_file
    from rag.stories import Stories, signatures

    articles = load_file(args.data / "articles.jsonl").articles
    texts = {a.id: a.text for a in articles}
    t0 = time.perf_counter()
    sigs = signatures([a.text for a in articles])
    t_sig = time.perf_counter() - t0
    stories = Stories(texts.__getitem__)
    t0 = time.perf_counter()
    for a, s in zip(articles, sigs):
        stories.add(a.id, s)
    t_pairs = time.perf_counter() - t0
    pairs = stories.pair_list()
    # What the indexer groups: it keeps one article per exact text, so time that set too.
    seen: set[str] = set()
    distinct = [i for i, a in enumerate(articles) if not (a.text in seen or seen.add(a.text))]
    st2 = Stories(texts.__getitem__)
    t0 = time.perf_counter()
    for i in distinct:
        st2.add(articles[i].id, sigs[i])
    t_pairs_distinct = time.perf_counter() - t0
    build = _build_seconds(args.build_log, args.build_seconds)
    total = t_sig + t_pairs
    return {
        "articles": len(articles),
        "distinct_texts": len(distinct),
        "signature_seconds": round(t_sig, 2),
        "signature_ms_per_article": round(1000 * t_sig / max(1, len(articles)), 2),
        "pairs_seconds": round(t_pairs, 2),
        "pairs_found": len(pairs),
        "pairs_seconds_distinct_texts": round(t_pairs_distinct, 2),
        "pairs_found_distinct_texts": len(st2.pair_list()),
        "grouping_seconds": round(total, 2),
        "build": build,
        "share_of_build": round(total / build["seconds"], 4),
        "goal_share": 0.10,
    }


# -- 2. upgrade ----------------------------------------------------------------
def _grouped(index_dir: Path) -> bool:
    """Whether the index's manifest holds story pairs made under the current rule."""
    from rag.stories import RULE

    return _manifest(index_dir).get("stories", {}).get("rule") == RULE


def _forget_stories(index_dir: Path) -> None:
    """Commit the manifest without its story pairs, as an index from before grouping had it."""
    from rag.store import open_store

    store = open_store(index_dir)
    try:
        manifest = store.manifest()
        manifest.pop("stories", None)
        with store.writing():
            store.commit(manifest)
    finally:
        store.close()


def step_upgrade(args, embedder) -> dict:
    from rag.indexer import update_index

    if args.copy_from:
        if args.index.exists():
            shutil.rmtree(args.index)
        subprocess.run(["cp", "-a", str(args.copy_from), str(args.index)], check=True)
    if args.forget_stories:
        _forget_stories(args.index)
    before = _manifest(args.index)
    if _grouped(args.index):
        return {"skipped": "the index is already grouped (run with --forget-stories to group it again)",
                "pairs": len(before.get("stories", {}).get("pairs", []))}
    state_before = _store_state(args.index)
    roots = before["roots"]
    t0 = time.perf_counter()
    report = update_index(roots, args.index, embedder)
    wall = time.perf_counter() - t0
    after = _manifest(args.index)
    state_after = _store_state(args.index)
    t0 = time.perf_counter()
    again = update_index(roots, args.index, embedder)  # nothing changed now: the quick path
    noop = time.perf_counter() - t0
    return {
        "roots": roots,
        "seconds": round(report.seconds, 2),
        "wall_seconds": round(wall, 2),
        "articles": report.articles,
        "chunks": report.chunks,
        "embedded": report.embedded,
        "reused": report.reused,
        "grouped": report.grouped,
        "stories": report.stories,
        "pairs": len(after["stories"]["pairs"]),
        "rule": after["stories"]["rule"],
        "notes": report.notes,
        "issues": [str(i) for i in report.issues],
        "store_before": state_before,
        "store_after": state_after,
        "minhash_bytes": state_after["signature_bytes"],
        "noop_update_seconds": round(noop, 2),
        "noop_embedded": again.embedded,
    }


# -- 3. one-article update -----------------------------------------------------
class _Phases:
    """Wall time spent in some of `rag.indexer`'s helpers and the embedded store's writes during
    one update (patched in)."""

    INDEXER = ("_previous", "collect_articles", "_group")
    STORE = ("catalogue", "signatures", "articles", "reusable", "delete", "upsert", "commit")

    def __init__(self) -> None:
        import rag.indexer as ix
        from rag.store.sqlite import SqliteStore

        self.spent: Counter = Counter()
        self.saved = [(ix, n, getattr(ix, n)) for n in self.INDEXER]
        self.saved += [(SqliteStore, n, getattr(SqliteStore, n)) for n in self.STORE]

    def __enter__(self):
        for owner, name, fn in self.saved:
            label = name if owner.__name__ == "rag.indexer" else f"store.{name}"
            setattr(owner, name, self._timed(label, fn))
        return self

    def __exit__(self, *exc) -> None:
        for owner, name, fn in self.saved:
            setattr(owner, name, fn)

    def _timed(self, name, fn):
        def run(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.spent[name] += time.perf_counter() - t0

        return run


def _pick_original(index_dir: Path, args, grouped: set[str]):
    """The article to reprint: the first gold evidence article that is indexed, in no story,
    and 2,000-8,000 characters long (``--reprint-of`` names one)."""
    arts = _live_articles(index_dir)
    if args.reprint_of:
        return arts[args.reprint_of]
    for line in (args.data / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        for doc in json.loads(line).get("evidence_docs", []):
            a = arts.get(doc)
            if a is not None and doc not in grouped and 2000 <= len(a.text) <= 8000:
                return a
    raise SystemExit("no article to reprint; name one with --reprint-of")


EXTRA = (
    "This report was first published by the original outlet and is reprinted here under a "
    "syndication agreement. Readers in the valley can send questions and tips about local "
    "reaction to the newsroom, and this page will be updated as more is known."
)


def step_update(args, embedder) -> dict:
    from rag.indexer import update_index

    m = _manifest(args.index)
    if not _grouped(args.index):
        raise SystemExit("run the upgrade step first: the index has no story pairs yet")
    pairs_before = {(a, b) for a, b, _ in m["stories"]["pairs"]}
    orig = _pick_original(args.index, args, {x for p in pairs_before for x in p})
    root = args.out / "extra"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    record = {
        "id": f"reprint-{orig.id}",
        "title": f"Valley Post: {orig.title.split(':')[0].strip()} — what we know",
        "url": f"https://valleypost.example/news/{orig.id}",
        "source": "Valley Post",
        "published": orig.published,
        "text": orig.text + "\n\n" + EXTRA,
    }
    runs = []
    for _ in range(args.repeats):
        path = root / "reprint.jsonl"
        path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
        with _Phases() as ph:
            add = update_index([root], args.index, embedder)
        m_add = _manifest(args.index)
        found = [p for p in m_add["stories"]["pairs"] if record["id"] in p[:2]]
        path.unlink()
        with _Phases() as ph_del:
            rem = update_index([root], args.index, embedder)
        m_del = _manifest(args.index)
        runs.append({
            "add_seconds": round(add.seconds, 3),
            "added": add.added,
            "add_embedded": add.embedded,
            "grouped_with": [p[0] if p[1] == record["id"] else p[1] for p in found],
            "containment": [p[2] for p in found],
            "stories_after_add": add.stories,
            "grouped_after_add": add.grouped,
            "add_phases": {k: round(v, 3) for k, v in ph.spent.items()},
            "delete_seconds": round(rem.seconds, 3),
            "removed": rem.removed,
            "delete_phases": {k: round(v, 3) for k, v in ph_del.spent.items()},
            "pairs_restored": {(a, b) for a, b, _ in m_del["stories"]["pairs"]} == pairs_before,
            "store_after_delete": _store_state(args.index),
        })
    return {
        "original": {"id": orig.id, "title": orig.title, "url": orig.url, "chars": len(orig.text)},
        "reprint": {k: v for k, v in record.items() if k != "text"},
        "root": str(root),
        "runs": runs,
        "add_seconds_median": statistics.median(r["add_seconds"] for r in runs),
        "delete_seconds_median": statistics.median(r["delete_seconds"] for r in runs),
        "grouped": all(orig.id in r["grouped_with"] for r in runs),
        "goal_seconds": 2.0,
    }


# -- 4. groups -----------------------------------------------------------------
def _exhaustive(articles: dict, floor: float) -> list[tuple[str, str, float]]:
    """Every pair of articles whose containment (rag.stories' measure) is ``floor`` or more,
    computed exactly from a sparse article x shingle matrix."""
    import numpy as np
    from scipy import sparse

    from rag.stories import shingles

    ids = list(articles)
    vocab: dict[str, int] = {}
    rows, cols = [], []
    for r, i in enumerate(ids):
        for s in shingles(articles[i].text):
            rows.append(r)
            cols.append(vocab.setdefault(s, len(vocab)))
    mat = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(ids), len(vocab)))
    sizes = np.asarray(mat.sum(axis=1)).ravel()
    inter = sparse.triu(mat @ mat.T, k=1).tocoo()
    smaller = np.minimum(sizes[inter.row], sizes[inter.col])
    c = inter.data / np.maximum(1, smaller)
    keep = c >= floor
    return sorted(((ids[a], ids[b], float(v)) for a, b, v in zip(inter.row[keep], inter.col[keep], c[keep])),
                  key=lambda t: -t[2])


def _groups(index_dir: Path):
    from rag.stories import groups_of

    arts = _live_articles(index_dir)
    pairs = _manifest(index_dir)["stories"]["pairs"]
    by_date = {i: (a.published or "9999", i) for i, a in arts.items()}
    members = groups_of(pairs, by_date)
    groups = sorted({tuple(g) for g in members.values()}, key=lambda g: (-len(g), g))
    return arts, pairs, groups


def step_groups(args) -> dict:
    from rag.loaders import load_file
    from rag.stories import CONTAINMENT

    arts, pairs, groups = _groups(args.index)
    rows = []
    for g in groups:
        ms = [arts[i] for i in g]
        within = [p[2] for p in pairs if p[0] in g and p[1] in g]
        rows.append({
            "size": len(g),
            "boilerplate": boilerplate(ms),
            "sites": dict(Counter(_site(a.url) for a in ms)),
            "containment_min": min(within),
            "titles": [a.title for a in ms],
            "ids": list(g),
        })
    # Exact copies never reach the grouping: the indexer keeps the first article of each text.
    corpus = load_file(args.data / "articles.jsonl").articles
    same_text: dict[str, list] = {}
    for a in corpus:
        same_text.setdefault(a.text, []).append(a)
    exact = sorted((v for v in same_text.values() if len(v) > 1), key=len, reverse=True)
    exact_rows = [{
        "size": len(v), "boilerplate": boilerplate(v), "sites": dict(Counter(_site(a.url) for a in v)),
        "chars": len(v[0].text), "text_starts": v[0].text[:120], "titles": [a.title for a in v[:5]],
        "kept": v[0].id, "kept_title": v[0].title,
    } for v in exact]
    # Every pair above a floor, exactly: which copies LSH proposed, and how close the rest come.
    t0 = time.perf_counter()
    close = _exhaustive(arts, args.floor)
    t_ex = time.perf_counter() - t0
    grouped_pairs = {(a, b) for a, b, _ in pairs}
    missed = [p for p in close if p[2] >= CONTAINMENT and (p[0], p[1]) not in grouped_pairs
              and (p[1], p[0]) not in grouped_pairs]
    bands = Counter(f"{int(c * 20) / 20:.2f}" for _, _, c in close)
    return {
        "articles": len(arts),
        "pairs": len(pairs),
        "groups": len(groups),
        "grouped_articles": sum(len(g) for g in groups),
        "boilerplate_groups": sum(r["boilerplate"] for r in rows),
        "boilerplate_articles": sum(r["size"] for r in rows if r["boilerplate"]),
        "group_sizes": dict(Counter(len(g) for g in groups)),
        "group_list": rows,
        "exact_duplicates": {
            "corpus_articles": len(corpus),
            "texts_shared": len(exact),
            "articles_dropped": sum(len(v) - 1 for v in exact),
            "boilerplate_sets": sum(r["boilerplate"] for r in exact_rows),
            "boilerplate_articles": sum(r["size"] for r in exact_rows if r["boilerplate"]),
            "sets": exact_rows,
        },
        "exhaustive": {
            "seconds": round(t_ex, 1),
            "floor": args.floor,
            "pairs_at_or_above_floor": len(close),
            "by_containment_band": dict(sorted(bands.items())),
            "pairs_at_or_above_rule": sum(c >= CONTAINMENT for _, _, c in close),
            "missed_by_lsh": [[a, b, round(c, 4)] for a, b, c in missed],
        },
    }


# -- 5. pairs ------------------------------------------------------------------
def _sample(pairs, groups, arts, n: int, cap: int, seed: int):
    """``n`` pairs at random (seed), at most ``cap`` of them from the biggest boilerplate group."""
    bp = [g for g in groups if boilerplate([arts[i] for i in g])]
    biggest = set(max(bp, key=len)) if bp else set()
    order = list(pairs)
    random.Random(seed).shuffle(order)
    out, from_bp = [], 0
    for p in order:
        inside = p[0] in biggest and p[1] in biggest
        if inside and from_bp >= cap:
            continue
        from_bp += inside
        out.append(p)
        if len(out) == n:
            break
    return out, biggest


def _card(n: int, a, b, c: float, kind: str, verdict: dict | None, bp: bool) -> str:
    def side(x) -> str:
        first = x.text[:300].replace("\n", " ")
        return (f"- **{x.title}** — {x.published or 'undated'} — {x.url or x.path} (`{x.id}`, "
                f"{len(x.text):,} chars)\n  > {first}")

    v = verdict or {}
    head = f"### {n}. {kind}, containment {c:.4f}{' — boilerplate pages' if bp else ''}"
    return "\n".join([head, "", side(a), side(b), "",
                      f"**Verdict:** {v.get('verdict', '(not read yet)')}" + (f" — {v['why']}" if v.get("why") else ""),
                      ""])


def step_pairs(args, results: dict) -> dict:
    from rag.stories import CONTAINMENT

    arts, pairs, groups = _groups(args.index)
    sample, biggest = _sample(pairs, groups, arts, args.sample, args.cap, args.seed)
    chosen = {(a, b) for a, b, _ in sample}
    near = []
    if len(sample) < args.sample:  # too few grouped pairs: show the closest ones the rule left apart
        close = _exhaustive(arts, args.floor)
        near = [p for p in close if (p[0], p[1]) not in chosen and (p[1], p[0]) not in chosen]
        near = near[: args.sample - len(sample)]
    verdicts = json.loads(args.verdicts.read_text(encoding="utf-8")) if args.verdicts and args.verdicts.is_file() else {}
    lines = [
        "# Grouped pairs, read one by one",
        "",
        f"{len(pairs)} pairs are grouped in {args.index} (rule: containment >= {CONTAINMENT}). "
        f"Sample: {len(sample)} of them at random (seed {args.seed}), at most {args.cap} from the biggest "
        f"boilerplate group ({len(biggest)} pages)."
        + (f" There are fewer than {args.sample}, so {len(near)} more follow: the pairs with the highest "
           f"containment that were *not* grouped (those at {CONTAINMENT} or more were never proposed by LSH; "
           "the rest are below the threshold): a check of what grouping leaves apart." if near else ""),
        "",
        "Verdicts: **same story** (a copy, reprint or updated version of one article) or **different**.",
        "",
        "## A. Grouped pairs (precision)",
        "",
    ]
    scored = []
    for n, (a, b, c) in enumerate(sample, start=1):
        bp = (a in biggest and b in biggest) or boilerplate([arts[a], arts[b]])
        v = verdicts.get(f"{a}|{b}")
        lines.append(_card(n, arts[a], arts[b], c, "grouped", v, bp))
        scored.append({"a": a, "b": b, "containment": c, "boilerplate": bp, "verdict": (v or {}).get("verdict")})
    if near:
        lines += ["## B. Closest pairs left apart (not proposed by LSH, or below the threshold)", ""]
    for n, (a, b, c) in enumerate(near, start=len(sample) + 1):
        v = verdicts.get(f"{a}|{b}")
        kind = "not grouped (LSH never proposed it)" if c >= CONTAINMENT else "not grouped"
        lines.append(_card(n, arts[a], arts[b], c, kind, v, boilerplate([arts[a], arts[b]])))
        scored.append({"a": a, "b": b, "containment": round(c, 4), "grouped": False, "verdict": (v or {}).get("verdict")})

    def same(rows, name="precision"):
        judged = [r for r in rows if r["verdict"]]
        n = sum(r["verdict"] == "same story" for r in judged)
        return {"judged": len(judged), "same": n, name: round(n / len(judged), 3) if judged else None}

    grouped_rows = [r for r in scored if r.get("grouped", True)]
    near_rows = [r for r in scored if not r.get("grouped", True)]
    out = {
        "file": str(args.out / "pairs.md"),
        "grouped_pairs": len(pairs),
        "sampled": len(sample),
        "from_biggest_boilerplate_group": sum(a in biggest and b in biggest for a, b, _ in sample),
        "overall": same(grouped_rows),
        "excluding_boilerplate": same([r for r in grouped_rows if not r["boilerplate"]]),
        "left_apart_shown": len(near_rows),
        "left_apart_at_rule_not_proposed": same([r for r in near_rows if r["containment"] >= CONTAINMENT], "share"),
        "left_apart_below_rule": same([r for r in near_rows if r["containment"] < CONTAINMENT], "share"),
        "rows": scored,
    }
    lines += ["## Summary", "",
              f"- grouped pairs judged the same story (precision): {out['overall']}",
              f"- the same, boilerplate pages left out: {out['excluding_boilerplate']}",
              f"- pairs at containment >= {CONTAINMENT} that LSH never proposed, judged the same story: "
              f"{out['left_apart_at_rule_not_proposed']}",
              f"- closest pairs below {CONTAINMENT}, judged the same story: {out['left_apart_below_rule']}", ""]
    (args.out / "pairs.md").write_text("\n".join(lines), encoding="utf-8")
    return out


# -- 6. retrieval --------------------------------------------------------------
def step_retrieval(args, embedder) -> dict:
    from rag.answer.query import plan
    from rag.assistant import MAX_QUESTION_CHARS
    from rag.dates import parse_as_of, today
    from rag.evaluation.gold import load_gold
    from rag.evaluation.metrics import chunk_hits
    from rag.index import Index

    t0 = time.perf_counter()
    index = Index.load(args.index, embedder)
    t_load = time.perf_counter() - t0
    grouped = dict(index.stories)
    truth = lambda d: grouped[d][0] if d in grouped else d  # noqa: E731 - the grouped index's story_of
    items = load_gold(args.data / "gold.jsonl")
    out, rows = {}, {}
    for name, stories in (("before", {}), ("after", grouped)):
        index.stories = stories
        per_q, dup, shown, times = [], 0, 0, []
        for item in items:
            day = parse_as_of(item.date or today())
            t = time.perf_counter()
            passages = plan(index, embedder, item.question.strip()[:MAX_QUESTION_CHARS], item.history or None,
                            k=args.k, as_of=day, analyse=False).passages
            times.append(time.perf_counter() - t)
            docs = [p.chunk.doc_id for p in passages]
            texts = [_norm(p.chunk.text) for p in passages]
            copies = [any(j < i and (truth(docs[j]) == truth(d) or texts[j] == texts[i]) for j in range(len(docs)))
                      for i, d in enumerate(docs)]
            dup += sum(copies)
            shown += len(docs)
            hit = next((r for r, p in enumerate(passages, start=1)
                        if chunk_hits(p.chunk.text, p.chunk.doc_id, item.evidence, item.evidence_docs, item.answers)), None)
            story_docs = {m for e in item.evidence_docs for m in grouped.get(e, [e])}
            story_hit = next((r for r, p in enumerate(passages, start=1)
                              if chunk_hits(p.chunk.text, p.chunk.doc_id, item.evidence, sorted(story_docs), item.answers)),
                             None)
            per_q.append({"id": item.id, "answerable": item.answerable, "docs": docs, "copies": copies,
                          "hit_rank": hit, "story_hit_rank": story_hit})
        ans = [r for r in per_q if r["answerable"]]
        out[name] = {
            "questions": len(per_q),
            "answerable": len(ans),
            "results": shown,
            "copies": dup,
            "copy_share": round(dup / max(1, shown), 4),
            "questions_with_a_copy": sum(any(r["copies"]) for r in per_q),
            f"recall@{args.k}": round(sum(r["hit_rank"] is not None for r in ans) / max(1, len(ans)), 4),
            "mrr": round(sum(1 / r["hit_rank"] for r in ans if r["hit_rank"]) / max(1, len(ans)), 4),
            f"story_recall@{args.k}": round(sum(r["story_hit_rank"] is not None for r in ans) / max(1, len(ans)), 4),
            "retrieval_p50_s": round(statistics.median(times), 3),
        }
        rows[name] = per_q
    index.stories = grouped
    changed = [b["id"] for b, a in zip(rows["before"], rows["after"]) if b["docs"] != a["docs"]]
    (args.out / "retrieval_rows.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return {"index_load_seconds": round(t_load, 1), **out, "questions_whose_top_changed": len(changed),
            "changed_ids": changed[:50], "grouped_articles": len(grouped)}


# -- report --------------------------------------------------------------------
def _table(res: dict) -> str:
    rows: list[tuple[str, str]] = []
    c = res.get("cost")
    if c:
        rows += [("cost: articles signed", f"{c['articles']} ({c['distinct_texts']} distinct texts)"),
                 ("cost: signatures", f"{c['signature_seconds']} s ({c['signature_ms_per_article']} ms/article)"),
                 ("cost: pairs (Stories.add x all)", f"{c['pairs_seconds']} s, {c['pairs_found']} pairs "
                  f"({c['pairs_found_distinct_texts']} among distinct texts, {c['pairs_seconds_distinct_texts']} s)"),
                 ("cost: full build", f"{c['build']['seconds']} s ({c['build']['from']})"),
                 ("cost: grouping / build", f"{100 * c['share_of_build']:.2f}% (goal <= 10%)")]
    u = res.get("upgrade")
    if u and "skipped" not in u:
        rows += [("upgrade: update_index", f"{u['seconds']} s, embedded {u['embedded']}, reused {u['reused']}"),
                 ("upgrade: grouped / stories", f"{u['grouped']} / {u['stories']} ({u['pairs']} pairs)"),
                 ("upgrade: no-op update after", f"{u['noop_update_seconds']} s")]
    elif u:
        rows.append(("upgrade", u["skipped"]))
    d = res.get("update")
    if d:
        r0 = d["runs"][0]
        rows += [("update: add one reprint", f"{d['add_seconds_median']} s median of {len(d['runs'])} "
                  f"({', '.join(str(r['add_seconds']) for r in d['runs'])}), goal <= 2 s"),
                 ("update: grouped with original", f"{d['grouped']} (containment {r0['containment']})"),
                 ("update: delete it", f"{d['delete_seconds_median']} s median "
                  f"({', '.join(str(r['delete_seconds']) for r in d['runs'])})"),
                 ("update: pairs restored after delete", str(all(r["pairs_restored"] for r in d["runs"])))]
    g = res.get("groups")
    if g:
        ex = g["exact_duplicates"]
        rows += [("groups: groups / grouped articles", f"{g['groups']} / {g['grouped_articles']} of {g['articles']}"),
                 ("groups: boilerplate groups", f"{g['boilerplate_groups']} ({g['boilerplate_articles']} articles)"),
                 ("exact copies dropped before grouping", f"{ex['articles_dropped']} of {ex['corpus_articles']} "
                  f"({ex['texts_shared']} texts; boilerplate {ex['boilerplate_sets']} sets, {ex['boilerplate_articles']} pages)"),
                 ("exhaustive: pairs >= rule / missed by LSH", f"{g['exhaustive']['pairs_at_or_above_rule']} / "
                  f"{len(g['exhaustive']['missed_by_lsh'])}"),
                 ("exhaustive: pairs by containment band", json.dumps(g["exhaustive"]["by_containment_band"]))]
    p = res.get("pairs")
    if p:
        rows += [("pairs: sampled grouped pairs", f"{p['sampled']} of {p['grouped_pairs']} -> {p['file']}"),
                 ("pairs: precision overall", f"{p['overall']}"),
                 ("pairs: precision w/o boilerplate", f"{p['excluding_boilerplate']}"),
                 ("pairs: >= rule, never proposed, same story", f"{p['left_apart_at_rule_not_proposed']}"),
                 ("pairs: closest below rule, same story", f"{p['left_apart_below_rule']}")]
    r = res.get("retrieval")
    if r:
        for name in ("before", "after"):
            x = r[name]
            k = next(key for key in x if key.startswith("recall@"))
            rows.append((f"retrieval {name}: copy share top-5",
                         f"{100 * x['copy_share']:.2f}% ({x['copies']}/{x['results']}; {x['questions_with_a_copy']} questions)"
                         f"  {k} {x[k]}  mrr {x['mrr']}  story-{k} {x['story_' + k]}"))
        rows.append(("retrieval: questions whose top-5 changed", str(r["questions_whose_top_changed"])))
    width = max((len(a) for a, _ in rows), default=0)
    return "\n".join(f"{a:<{width}}  {b}" for a, b in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True, help="a copy of a realtimeqa-2023 index (it is modified)")
    ap.add_argument("--data", type=Path, required=True, help="folder with articles.jsonl and gold.jsonl")
    ap.add_argument("--out", type=Path, default=Path("/tmp/storybench"), help="results folder")
    ap.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated, of: {', '.join(STEPS)}")
    ap.add_argument("--copy-from", type=Path, help="replace --index with a fresh `cp -a` of this index first")
    ap.add_argument("--forget-stories", action="store_true",
                    help="upgrade step: drop the story pairs from the index's manifest first, to group it again")
    ap.add_argument("--build-log", type=Path, default=Path("/tmp/rtqa/build.log"), help="`time -v rag index` log")
    ap.add_argument("--build-seconds", type=float, default=2340.0, help="full build time when there is no log")
    ap.add_argument("--repeats", type=int, default=3, help="add/delete cycles of the one-article update")
    ap.add_argument("--reprint-of", help="id of the article to reprint (default: picked from the gold evidence)")
    ap.add_argument("--floor", type=float, default=0.5, help="lowest containment the exhaustive check keeps")
    ap.add_argument("--sample", type=int, default=30)
    ap.add_argument("--cap", type=int, default=10, help="most pairs sampled from the biggest boilerplate group")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verdicts", type=Path, help="JSON {\"a|b\": {\"verdict\": \"same story\"|\"different\", \"why\": ...}}")
    ap.add_argument("--k", type=int, default=5)
    args = ap.parse_args()
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    if unknown := set(steps) - set(STEPS):
        ap.error(f"unknown steps: {', '.join(sorted(unknown))}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "stories.json"
    results = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    embedder = _embedder() if {"upgrade", "update", "retrieval"} & set(steps) else None
    for step in STEPS:
        if step not in steps:
            continue
        t0 = time.perf_counter()
        if step == "cost":
            results[step] = step_cost(args)
        elif step == "upgrade":
            results[step] = step_upgrade(args, embedder)
        elif step == "update":
            results[step] = step_update(args, embedder)
        elif step == "groups":
            results[step] = step_groups(args)
        elif step == "pairs":
            results[step] = step_pairs(args, results)
        else:
            results[step] = step_retrieval(args, embedder)
        results[step]["step_seconds"] = round(time.perf_counter() - t0, 1)
        # Merge into the file as it is now, so runs of different steps keep each other's figures.
        saved = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        results = {**saved, step: results[step]}
        path.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
        print(f"[{step} done in {results[step]['step_seconds']} s]", file=sys.stderr)
    print(_table(results))
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
