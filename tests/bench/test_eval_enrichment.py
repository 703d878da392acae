"""The enrichment harness: blind annotations, roles of unnamed speakers, languages without a model."""

from __future__ import annotations

from types import SimpleNamespace

from bench.eval_enrichment import Item, blind_doc, nothing_extracted, run, score_article
from schemas.common import Entities, Entity, Quote

DOC = {
    "language": "ru", "title": "Т", "lead": None, "body": "Б",
    "entities": {"persons": ["Игорь Лапин"], "organizations": ["Администрация Омска"], "locations": ["улица Ленина"]},
    "quotes": [
        {"text": "Укладывать рельсы при минус тридцати можно", "speaker": "Игорь Лапин", "speaker_role": "доцент"},
        {"text": "Если в январе будут морозы работы встанут", "speaker": None, "speaker_role": "сотрудник департамента транспорта"},
        {"text": "Контракт заключён по итогам аукциона", "speaker": "Администрация Омска", "speaker_role": None},
    ],
}


def enriched(quotes: list[Quote], persons: tuple[str, ...] = ("Игорь Лапин",)) -> SimpleNamespace:
    return SimpleNamespace(language="ru", quotes=quotes,
                           entities=Entities(persons=[Entity(name=p, count=1) for p in persons]))


def test_blind_annotation_becomes_the_development_format() -> None:
    doc = blind_doc({"language": "en", "title": "T", "lead": "L", "body": "B", "persons": ["Jane Doe"], "organizations": [],
                     "locations": ["Leeds"], "quotes": [{"text": "q", "speaker": None, "speaker_role": "a resident"}], "url": "u"})
    assert doc == {"language": "en", "title": "T", "lead": "L", "body": "B",
                   "entities": {"persons": ["Jane Doe"], "organizations": [], "locations": ["Leeds"]},
                   "quotes": [{"text": "q", "speaker": None, "speaker_role": "a resident"}]}


def test_role_of_an_unnamed_speaker_counts_only_when_kept() -> None:
    kept = enriched([Quote(text=DOC["quotes"][1]["text"], speaker=None, speaker_role="сотрудник департамента транспорта")])
    lost = enriched([Quote(text=DOC["quotes"][1]["text"], speaker=None)])
    tally_kept, _ = score_article(DOC, kept)
    tally_lost, _ = score_article(DOC, lost)
    assert (tally_kept.roles_expected, tally_kept.roles_right) == (1, 1)
    assert (tally_lost.roles_expected, tally_lost.roles_right) == (1, 0)
    assert tally_lost.metrics()["speaker_accuracy"] == 1.0  # null = null is a right speaker


def test_a_rejected_page_scores_nothing_found() -> None:
    tally, details = score_article(DOC, nothing_extracted())
    assert tally.quotes_found == 0 and tally.quotes_expected == 3
    assert tally.tp["persons"] == 0 and tally.expected["persons"] == 1
    assert not any(d["found"] for d in details)


def test_languages_without_an_entity_model_are_counted_apart() -> None:
    models = SimpleNamespace(ner_for=lambda language: object() if language == "ru" else None)
    seen: list[str] = []

    def enrich_one(item: Item, _models: object) -> SimpleNamespace:
        seen.append(item.name)
        return enriched([Quote(text=q["text"], speaker=q["speaker"]) for q in DOC["quotes"]], persons=("Игорь Лапин",))

    result = run([Item("ru-1", DOC), Item("uk-1", {**DOC, "language": "uk"})], models, enrich_one)
    assert seen == ["ru-1"]
    assert result["summary"]["articles"] == 1
    assert result["summary"]["not_scored"] == {"uk": 1}
    assert result["summary"]["quote_recall"] == 1.0


def test_a_set_without_unnamed_speakers_roles_shows_nothing_to_measure() -> None:
    from bench.eval_enrichment import Tally, side_by_side, COLUMNS

    assert Tally().metrics()["unnamed_roles_kept"] is None
    summaries = {key: {**{metric: 0.5 for metric in Tally().metrics()}, "language_accuracy": 1.0, "unnamed_roles_kept": None}
                 for key, _, _ in COLUMNS}
    row = next(line for line in side_by_side(summaries).splitlines() if line.startswith("| unnamed"))
    assert row.endswith("| n/a | n/a | n/a | n/a |")
