"""The blind set is well formed and as large and varied as issue 13 asks; nothing here reads scores.

Checks the form of the annotations only (see bench/corpus/blind/README.md): every page
decodes in its declared encoding, times are zone-aware, every quote is a run of the body's
words, every named speaker is among the article's entities.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

BLIND = Path(__file__).resolve().parents[2] / "bench" / "corpus" / "blind"
EXPECTED = sorted((BLIND / "expected").glob("*.json"))
WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def annotation(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def contains_run(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def test_size_and_variety() -> None:
    docs = [annotation(p) for p in EXPECTED]
    articles = [d for d in docs if d["kind"] == "article"]
    assert len(docs) >= 64
    assert 3 <= sum(d["kind"] == "non-article" for d in docs) <= 5
    assert len({d["template"] for d in docs}) >= 32
    assert {d["encoding"] for d in docs} >= {"utf-8", "windows-1251", "koi8-r"}
    quotes = [(d["language"], q) for d in articles for q in d["quotes"]]
    assert len(quotes) >= 60
    assert sum(lang == "ru" for lang, _ in quotes) >= 25


@pytest.mark.parametrize("path", EXPECTED, ids=lambda p: p.stem)
def test_annotation_is_well_formed(path: Path) -> None:
    doc = annotation(path)
    page = (BLIND / "pages" / f"{path.stem}.html").read_bytes()
    page.decode(doc["encoding"])
    assert doc["kind"] in ("article", "non-article")
    assert "site_timezone" not in doc
    if doc["kind"] != "article":
        return
    published = datetime.fromisoformat(doc["published_at"])
    assert published.tzinfo is not None
    if doc.get("fetched_at"):
        assert datetime.fromisoformat(doc["fetched_at"]) > published
    assert doc["title"].strip() and doc["body"].strip()
    assert all(p.strip() == p and p for p in doc["body"].split("\n\n"))
    for key in ("persons", "organizations", "locations", "authors"):
        assert len(set(doc[key])) == len(doc[key]), key
    body = words(doc["body"])
    for q in doc["quotes"]:
        assert contains_run(body, words(q["text"])), q["text"]
        assert q["speaker"] is None or q["speaker"] in doc["persons"] + doc["organizations"], q["speaker"]
