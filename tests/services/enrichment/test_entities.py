"""Named entities: normalisation to the nominative, full-name resolution, merging with offsets."""

from __future__ import annotations

from services.enrichment.logic import enrich
from tests.services.enrichment.conftest import article


def names(entities: list) -> list[str]:  # type: ignore[type-arg]
    return [e.name for e in entities]


def test_seed_article_persons_are_full_names_in_the_nominative(seed) -> None:  # type: ignore[no-untyped-def]
    persons = names(seed.entities.persons)
    for surname in ("Путин", "Алиев", "Песков", "Матвейчев", "Джабаров", "Мирзазаде", "Мусабеков", "Захарова", "Ярошенко"):
        matching = [p for p in persons if p.split()[-1] == surname]
        assert len(matching) == 1 and len(matching[0].split()) == 2, (surname, persons)
    assert "Путин" not in persons and "Владимир Владимирович" not in persons
    putin = next(e for e in seed.entities.persons if e.name == "Владимир Путин")
    assert putin.count >= 8, "«Путина», «Путин», «Владимира Путина» are one person"
    assert persons[0] == "Владимир Путин", "ordered by mention count"


def test_seed_article_locations_and_organizations(seed) -> None:  # type: ignore[no-untyped-def]
    locations = names(seed.entities.locations)
    for place in ("Душанбе", "Баку", "Таджикистан", "Азербайджан", "Каспийское море", "Персидский залив", "Советский Союз"):
        assert place in locations
    assert "РФ" not in locations, "РФ is Россия"
    organizations = names(seed.entities.organizations)
    assert "Министерство иностранных дел России" in organizations, "head inflected, genitive kept"
    assert "Московский академический театр сатиры" in organizations
    assert "Содружество Независимых Государств" in organizations
    assert "СНГ" not in organizations, "the abbreviation is merged into the long name"


def test_mentions_point_into_their_field(seed) -> None:  # type: ignore[no-untyped-def]
    texts = {"title": seed.title, "body": seed.body, "lead": seed.lead or ""}
    fields = set()
    for kind in (seed.entities.persons, seed.entities.organizations, seed.entities.locations):
        for entity in kind:
            assert entity.count == len(entity.mentions)
            for mention in entity.mentions:
                assert texts[mention.field][mention.start:mention.end] == mention.text
                fields.add(mention.field)
    assert fields == {"title", "body"}
    baku = next(e for e in seed.entities.locations if e.name == "Баку")
    assert any(m.text == "Баку" for m in baku.mentions)


def test_oblique_cases_and_coordinated_places_are_normalised(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Глава администрации встретился с жителями в Октябрьском и Кировском районах Новосибирска. "
            "Деньги выделит правительство Новосибирской области, сообщил Андрей Пестов. "
            "По словам Пестова, работы начнутся весной в Верхоянске и Бердске.")
    enriched = enrich(article("Ремонт дорог", body, language="ru"), models)
    locations = names(enriched.entities.locations)
    assert "Октябрьский район" in locations and "Кировский район" in locations, locations
    assert "Правительство Новосибирской области" in names(enriched.entities.organizations)
    assert names(enriched.entities.persons) == ["Андрей Пестов"], "«Пестова» is the same person"


def test_photo_credits_are_not_people(models) -> None:  # type: ignore[no-untyped-def]
    enriched = enrich(article(
        "Переговоры в Баку", "Вице-премьер Алексей Оверчук провел переговоры в Баку с коллегами из Азербайджана.",
        lead="Алексей Оверчук на переговорах в Баку Фото: Рауф Гасымов/Вестник Дня", language="ru",
    ), models)
    persons = names(enriched.entities.persons)
    assert persons == ["Алексей Оверчук"], persons
    assert {m.field for m in enriched.entities.persons[0].mentions} == {"lead", "body"}


def test_english_entities(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Kenya's Evans Kiprotich won the race in Chicago on Sunday. The European Commission fined "
            "Corvane Systems, a company based in the Czech Republic. \"It was windy,\" Kiprotich said. "
            "The Commission said Corvane would appeal.")
    enriched = enrich(article("Kiprotich wins", body, language="en"), models)
    persons = names(enriched.entities.persons)
    assert "Evans Kiprotich" in persons and "Kiprotich" not in persons
    kiprotich = next(e for e in enriched.entities.persons if e.name == "Evans Kiprotich")
    assert kiprotich.count == 3 and {m.field for m in kiprotich.mentions} == {"title", "body"}
    organizations = names(enriched.entities.organizations)
    assert "European Commission" in organizations and "Commission" not in organizations
    assert "Corvane Systems" in organizations and "Corvane" not in persons
    assert "Czech Republic" in names(enriched.entities.locations), "no leading 'the'"


def test_languages_without_ner_get_no_entities(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Die Bundesregierung hat am Mittwoch in Berlin neue Regeln für Fernwärme beschlossen. "
            "Die Häuser in Hamburg sollen bis 2030 angeschlossen werden, sagte die Ministerin.")
    enriched = enrich(article("Fernwärme in Hamburg", body), models)
    assert enriched.language == "de"
    assert enriched.entities.persons == [] and enriched.entities.locations == []
    assert enriched.quotes == []
    assert "haus" in enriched.body_lemmas.split()


# ---------------------------------------------------------------------------- issue 13: places


def test_streets_keep_their_street_word_and_are_not_cut_to_a_person(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Движение закроют на улице Ленина и по улице Трёхсвятской, объезд пойдет по ул. Советской и Тверскому "
            "проспекту, а остановку перенесут к набережной Афанасия Никитина и на площадь Славы.")
    enriched = enrich(article("Ремонт в Твери", body, language="ru"), models)
    locations = set(names(enriched.entities.locations))
    assert {"улица Ленина", "улица Трёхсвятская", "улица Советская", "Тверской проспект",
            "набережная Афанасия Никитина", "площадь Славы"} <= locations, locations
    assert not {"Ленин", "Слава"} & locations
    assert "Афанасий Никитин" not in names(enriched.entities.persons)


def test_a_capitalised_dateline_is_the_same_place_as_in_the_text(models) -> None:  # type: ignore[no-untyped-def]
    body = "НИЖНИЙ НОВГОРОД, 7 октября. Завод в Нижнем Новгороде переходит на четырехдневку, сообщили в компании."
    enriched = enrich(article("Завод", body, language="ru"), models)
    assert names(enriched.entities.locations) == ["Нижний Новгород"]
    assert not names(enriched.entities.organizations)


def test_aliases_merge_into_the_canonical_name(models) -> None:  # type: ignore[no-untyped-def]
    body = ("В Петербурге открыли новую сцену. Режиссер приехала в Питер из Екатеринбурга, а бюджет "
            "Санкт-Петербурга оплатил ремонт.")
    enriched = enrich(article("Театр", body, language="ru"), models)
    assert names(enriched.entities.locations).count("Санкт-Петербург") == 1
    assert not {"Петербург", "Питер"} & set(names(enriched.entities.locations) + names(enriched.entities.persons))


def test_news_agencies_and_branch_offices_are_organisations(models) -> None:  # type: ignore[no-untyped-def]
    body = ("В ГУ МЧС по Иркутской области сообщили, что развернуты пункты обогрева, передает «Интерфакс». "
            "Об этом также сообщает ТАСС.")
    enriched = enrich(article("Авария", body, language="ru"), models)
    organizations = names(enriched.entities.organizations)
    assert "ГУ МЧС по Иркутской области" in organizations and "Интерфакс" in organizations and "ТАСС" in organizations
    assert not {"Интерфакс", "ТАСС"} & set(names(enriched.entities.locations))


def test_english_streets_rivers_roads_and_small_towns(models) -> None:  # type: ignore[no-untyped-def]
    body = ("The line will run along Trafford Road and cross the River Irwell near the Manchester Ship Canal. "
            "The A456 through Kidderminster will carry diverted traffic, and barriers are up in Bewdley and Tewkesbury, "
            "in Worcestershire. Transport for Greater Manchester (TfGM) said the work would take two years.")
    enriched = enrich(article("Flood barriers", body, language="en"), models)
    locations = set(names(enriched.entities.locations))
    assert {"Trafford Road", "River Irwell", "Manchester Ship Canal", "A456", "Kidderminster", "Bewdley",
            "Tewkesbury", "Worcestershire"} <= locations, locations
    assert "Transport for Greater Manchester" in names(enriched.entities.organizations)
    assert not {"Kidderminster", "Tewkesbury"} & set(names(enriched.entities.persons))
