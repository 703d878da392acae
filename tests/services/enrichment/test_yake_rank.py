"""yake_rank gives the `yake` package's ranking: same phrases, same order, same scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yake

from services.enrichment.yake_rank import rank, stopwords

CORPUS = Path(__file__).resolve().parents[3] / "bench" / "corpus" / "enrichment"
TEXTS = [
    ("en", "The Manchester Ship Canal flooded. Residents of Salford said the flood sensors failed; "
           "the council's flood team, the Environment Agency and Salford City Council met on Monday. "
           "A 2024 report by the EA warned about the A456 and COVID-19 spending."),
    ("ru", "Юбилейный мост через Обь закроют на ремонт. Мост построили в 2014 году; "
           "мэрия Новосибирска обещает, что ремонт моста займёт два года. «Мост нужен городу», — сказал мэр."),
    ("en", "very very very good. Good good. ... !!! 'tis the U.S. of A."),
]


def texts() -> list[tuple[str, str]]:
    out = list(TEXTS)
    for path in sorted(CORPUS.glob("*.json"))[:6]:
        doc = json.loads(path.read_text(encoding="utf-8"))
        out.append((doc["language"], f"{doc['title']}.\n\n{doc['body']}"))
    return out


@pytest.mark.parametrize("n", [1, 2, 3])
def test_same_ranking_as_the_yake_package(n: int) -> None:
    for language, text in texts():
        expected = yake.KeywordExtractor(lan=language, n=n, top=40, dedup_lim=0.7).extract_keywords(text)
        assert rank(text, stopwords(language), n=n, top=40, dedup_lim=0.7) == expected


def test_language_without_a_stopword_list_gets_the_neutral_list_not_norwegian() -> None:
    assert stopwords("ka") == stopwords("noLang") != stopwords("no")
    text = "მთავრობამ ახალი ბიუჯეტი დაამტკიცა. ბიუჯეტი ითვალისწინებს ახალ ხარჯებს."
    expected = yake.KeywordExtractor(n=2, top=20, dedup_lim=0.7, stopwords=stopwords("noLang")).extract_keywords(text)
    assert rank(text, stopwords("ka"), n=2, top=20, dedup_lim=0.7) == expected
    assert expected


def test_text_without_words_has_no_keywords() -> None:
    assert rank("", stopwords("en")) == []
    assert rank("... !!! ,,,", stopwords("en")) == []
