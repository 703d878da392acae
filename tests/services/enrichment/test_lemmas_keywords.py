"""Lemmas for search and keywords."""

from __future__ import annotations

from services.enrichment.logic import enrich
from tests.services.enrichment.conftest import article


def test_russian_forms_share_a_lemma(models) -> None:  # type: ignore[no-untyped-def]
    lemmatizer = models.lemmatizer
    assert lemmatizer.lemma("переговорах", "ru") == lemmatizer.lemma("переговоров", "ru") == "переговоры"
    assert lemmatizer.lemmatize_text("Договорились Путин и Алиев в Душанбе", "ru") == "договориться путин и алиев в душанбе"


def test_other_languages_use_simplemma(models) -> None:  # type: ignore[no-untyped-def]
    lemmatizer = models.lemmatizer
    assert lemmatizer.lemmatize_text("The houses were flooded", "en") == "the house be flood"
    assert lemmatizer.lemma("Häuser", "de") == "haus"
    assert lemmatizer.lemma("words", "xx") == "words", "an unsupported language keeps the word, lower-cased"


def test_a_language_not_preloaded_gets_the_same_lemmas_from_the_low_memory_dictionary() -> None:
    # A worker meeting German for the first time reads simplemma's front-coded stream instead
    # of building a 114 MiB dict: the lemmas must not change with the backend.
    from services.enrichment.lemmas import Lemmatizer

    text = ("Die Bundesregierung hat am Mittwoch neue Maßnahmen beschlossen, teilten die Ministerien mit. "
            "Die Häuser wurden gebaut, und die Kinder spielten in den Gärten der Nachbarn.")
    lazy, preloaded = Lemmatizer(), Lemmatizer()
    preloaded.warm_up(("de",))
    assert lazy.lemmatize_text(text, "de") == preloaded.lemmatize_text(text, "de")
    assert "haus" in lazy.lemmatize_text(text, "de").split()


def test_enriched_article_has_lemmatised_title_and_body(seed) -> None:  # type: ignore[no-untyped-def]
    assert "переговоры" in seed.body_lemmas.split()
    assert "переговорах" not in seed.body_lemmas.split()
    assert seed.title_lemmas.startswith("кризис эмоция позади")
    assert len(seed.body_lemmas.split()) == len(seed.body_lemmas.split(" "))


def test_keywords_are_the_articles_topics(seed) -> None:  # type: ignore[no-untyped-def]
    assert 5 <= len(seed.keywords) <= 10
    assert {"Азербайджан", "Путин", "Алиев"} <= set(seed.keywords)
    assert len(set(seed.keywords)) == len(seed.keywords)


def test_keywords_skip_verbs_and_numbers(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Юбилейный мост через Волгу закроют на ремонт до конца ноября. На мосту заменят деформационные швы. "
            "Ремонт Юбилейного моста обойдется в 120 миллионов рублей. Движение по Юбилейному мосту ограничат ночью.")
    keywords = enrich(article("Юбилейный мост закроют на ремонт", body, language="ru"), models).keywords
    assert keywords and keywords[0] == "Юбилейный мост"
    assert not any(k in ("закрыть", "заменить", "ограничить", "120") for k in keywords)


def test_word_count_and_reading_time(seed) -> None:  # type: ignore[no-untyped-def]
    assert 950 <= seed.word_count <= 1100
    assert seed.reading_time_minutes == round(seed.word_count / 200, 1)
