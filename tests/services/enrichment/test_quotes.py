"""Quotes and speakers: the press patterns of issue 5, one small text each."""

from __future__ import annotations

import pytest

from services.enrichment.logic import enrich
from services.enrichment.quotes import _joined
from tests.services.enrichment.conftest import article


def quotes(models, body: str, language: str = "ru") -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    enriched = enrich(article("Заголовок" if language == "ru" else "Headline", body, language=language), models)
    for q in enriched.quotes:
        assert _joined(enriched.body[q.start:q.end]) == q.text
    return [(q.text, q.speaker) for q in enriched.quotes]


def with_roles(models, body: str, language: str = "ru") -> list[tuple[str | None, str | None]]:  # type: ignore[no-untyped-def]
    enriched = enrich(article("Заголовок" if language == "ru" else "Headline", body, language=language), models)
    return [(q.speaker, q.speaker_role) for q in enriched.quotes]


def test_dash_attribution_after_the_quote(models) -> None:  # type: ignore[no-untyped-def]
    body = "«Мы не запрещаем посуточную аренду. Мы вводим понятные правила», — сказал Андрей Лужин."
    assert quotes(models, body) == [("Мы не запрещаем посуточную аренду. Мы вводим понятные правила", "Андрей Лужин")]


def test_colon_attribution_before_the_quote(models) -> None:  # type: ignore[no-untyped-def]
    body = "Мэр Новосибирска Виктор Лапшин заявил: «Жители левого берега наконец получат нормальную дорогу»."
    assert quotes(models, body) == [("Жители левого берега наконец получат нормальную дорогу", "Виктор Лапшин")]


def test_descriptor_refers_to_the_person_named_before(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Аналитик компании «Зерно-Инфо» Марина Лосева указывает на избыток предложения. "
            "«Внутренний рынок риса перенасыщен» — считает эксперт.\n\n"
            "Участники рынка возлагают надежды на экспорт. «Конкуренция с азиатским рисом очень жесткая» — считает эксперт.")
    assert quotes(models, body) == [
        ("Внутренний рынок риса перенасыщен", "Марина Лосева"),
        ("Конкуренция с азиатским рисом очень жесткая", None),  # a new, unnamed group of speakers: never guessed
    ]


def test_pronoun_in_the_next_paragraph_and_by_his_words(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Политолог Алексей Ярошенко пояснил, что Каспий — это стратегически важная точка.\n\n"
            "«Именно по нему будут транспортироваться грузы», — отметил он.\n\n"
            "По его словам, «любые большие проекты нуждаются в политическом сопровождении».")
    assert [s for _, s in quotes(models, body)] == ["Алексей Ярошенко", "Алексей Ярошенко"]


def test_quote_whose_speaker_is_named_in_the_previous_sentence(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Директор департамента министерства Павел Гринев прокомментировал решение палаты журналистам. "
            "«Реестр позволит наконец увидеть реальный объем рынка»")
    assert quotes(models, body) == [("Реестр позволит наконец увидеть реальный объем рынка", "Павел Гринев")]


def test_interrupted_quote_gives_two_quotes_with_one_speaker(models) -> None:  # type: ignore[no-untyped-def]
    body = "«Мерзлота реагирует на потепление с запаздыванием, — сказала Наталья Семенова. — Процесс будет продолжаться»."
    assert quotes(models, body) == [
        ("Мерзлота реагирует на потепление с запаздыванием", "Наталья Семенова"),
        ("Процесс будет продолжаться", "Наталья Семенова"),
    ]


@pytest.mark.parametrize("attribution", ["сказал один из первых водителей", "пишут одни", "рассказала пенсионерка",
                                         "сказал представитель компании"])
def test_unnamed_speakers_stay_null(models, attribution: str) -> None:  # type: ignore[no-untyped-def]
    body = f"Мост открыли в субботу. «Ждали этот мост очень долго», — {attribution}."
    assert quotes(models, body) == [("Ждали этот мост очень долго", None)]


def test_organisation_speaking_as_such(models) -> None:  # type: ignore[no-untyped-def]
    body = ("В Министерстве строительства Якутии сообщили, что данные передадут проектировщикам. "
            "«Обследование фундаментов ведется ежегодно», — говорится в сообщении ведомства.")
    assert quotes(models, body) == [("Обследование фундаментов ведется ежегодно", "Министерство строительства Якутии")]


def test_names_and_titles_in_quotation_marks_are_not_quotes(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Омский «Авангард» обыграл «Металлург». Болельщики развернули баннер «Омск — хоккейный город». "
            "В грунте образуются так называемые «аласы в миниатюре», а жалобы на «квартиры-гостиницы» растут.")
    assert quotes(models, body) == []


def test_roles_come_from_the_apposition(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Как отметил пресс-секретарь президента РФ Дмитрий Песков, лидеры затронули «все острые проблемы».\n\n"
            "По словам мэра Новосибирска Виктора Лапшина, «жители получат нормальную дорогу».")
    enriched = enrich(article("Заголовок", body, language="ru"), models)
    assert [(q.speaker, q.speaker_role) for q in enriched.quotes] == [
        ("Дмитрий Песков", "пресс-секретарь президента РФ"),
        ("Виктор Лапшин", "мэр Новосибирска"),
    ]


def test_english_patterns(models) -> None:  # type: ignore[no-untyped-def]
    body = ('"The wind was very strong," said Evans Kiprotich, the winner of the race. "I decided to go."\n\n'
            "Australian Resources Minister Sarah Whitlock said: “Australia digs these minerals out of the ground.”\n\n"
            "Whitlock acknowledged that money alone was not enough. “The money is there,” she said, "
            "“but the projects have to stack up.”\n\n"
            "According to Hannah Price, a senior fellow at the Lowy Institute, “the real test is ahead.”\n\n"
            "On the island, the changes are visible. \"The fjord used to freeze,\" a fisherman told the broadcaster.")
    enriched = enrich(article("Headline", body, language="en"), models)
    got = [(q.text.rstrip("."), q.speaker) for q in enriched.quotes]
    assert got == [
        ("The wind was very strong", "Evans Kiprotich"),
        ("I decided to go", "Evans Kiprotich"),
        ("Australia digs these minerals out of the ground", "Sarah Whitlock"),
        ("The money is there", "Sarah Whitlock"),
        ("but the projects have to stack up", "Sarah Whitlock"),
        ("the real test is ahead", "Hannah Price"),
        ("The fjord used to freeze", None),
    ]
    roles = {q.speaker: q.speaker_role for q in enriched.quotes if q.speaker}
    assert roles["Evans Kiprotich"] == "winner of the race"
    assert roles["Sarah Whitlock"] == "Australian Resources Minister"
    assert roles["Hannah Price"] == "senior fellow at the Lowy Institute"


def test_seed_article_speakers(seed) -> None:  # type: ignore[no-untyped-def]
    by_speaker: dict[str | None, list[str]] = {}
    for q in seed.quotes:
        by_speaker.setdefault(q.speaker, []).append(q.text)
    assert any(t.startswith("Личные отношения очень важны") for t in by_speaker["Олег Матвейчев"])
    assert any(t.startswith("Я полагаю, что она послужит") for t in by_speaker["Владимир Джабаров"])
    assert any(t.startswith("Интерес есть и у десятков") for t in by_speaker["Айдын Мирзазаде"])
    assert any(t.startswith("Очень многие хотят") for t in by_speaker["Мария Захарова"])
    roles = {q.speaker: q.speaker_role for q in seed.quotes}
    assert roles["Дмитрий Песков"] == "пресс-секретарь президента РФ"
    assert roles["Алексей Ярошенко"] == "политолог"


# ---------------------------------------------------------------------------- issue 13: across paragraphs


def test_the_speaker_introduced_in_the_paragraph_before_a_standalone_quote(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Глава ассоциации Игорь Самсонов напомнил, что спрос на зимние направления превышает предложение.\n\n"
            "«Номерной фонд почти не растет, а желающих поехать становится все больше».")
    assert quotes(models, body) == [("Номерной фонд почти не растет, а желающих поехать становится все больше",
                                     "Игорь Самсонов")]


def test_english_speaker_with_apposition_in_the_paragraph_before(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Priya Raman, head of research at the Northern Transport Institute, said the timing looked favourable.\n\n"
            "\"Borrowing costs have come down and the contractors are available. It would be now.\"")
    assert with_roles(models, body, "en") == [("Priya Raman", "head of research at the Northern Transport Institute")]


def test_a_paragraph_without_speech_does_not_give_a_speaker(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Глава ассоциации Игорь Самсонов в понедельник посетил Кировск.\n\n"
            "«Номерной фонд почти не растет, а желающих поехать становится все больше».")
    assert quotes(models, body)[0][1] is None


def test_a_person_introduced_in_the_sentence_before(models) -> None:  # type: ignore[no-untyped-def]
    body = ("The proposal was championed by trustee Alicia Moreno, who chairs the finance committee. "
            "\"This building was the heart of the village for a hundred years.\"")
    assert [s for _, s in quotes(models, body, "en")] == ["Alicia Moreno"]


@pytest.mark.parametrize(("attribution", "speaker"), [
    ("рассказала «Известиям» руководитель пресс-службы авиакомпании «Северный ветер» Марина Ковалева", "Марина Ковалева"),
    ("сообщил ТАСС замминистра экономического развития Петр Лапин", "Петр Лапин"),
    ("заявил «Коммерсанту» председатель профсоюзной организации Михаил Гуров", "Михаил Гуров"),
])
def test_the_outlet_before_the_person_is_not_the_speaker(models, attribution: str, speaker: str) -> None:  # type: ignore[no-untyped-def]
    body = f"Перевозчики отвечают на спрос. «Мы ставим дополнительные рейсы, но мест уже почти нет», — {attribution}."
    assert quotes(models, body) == [("Мы ставим дополнительные рейсы, но мест уже почти нет", speaker)]


@pytest.mark.parametrize(("body", "role"), [
    ("Участники рынка не ждут снижения цен. «Цены будут расти, пока не появятся новые гостиницы», — считает эксперт.",
     "эксперт"),
    ("Причины выясняет прокуратура. «Мы проверим, менял ли подрядчик изоляторы», — рассказал «Интерфаксу» источник "
     "в надзорном ведомстве.", "источник в надзорном ведомстве"),
])
def test_an_unnamed_speaker_keeps_the_role_the_text_gives(models, body: str, role: str) -> None:  # type: ignore[no-untyped-def]
    assert with_roles(models, body) == [(None, role)]


def test_an_english_unnamed_source_keeps_its_fuller_description(models) -> None:  # type: ignore[no-untyped-def]
    body = ("A source close to the contractor said the works would be phased. "
            "\"Nobody wants a repeat of the Oxford Road closures,\" the source said.")
    assert with_roles(models, body, "en") == [(None, "source close to the contractor")]


def test_a_spokesperson_for_an_organisation_is_not_the_organisation(models) -> None:  # type: ignore[no-untyped-def]
    body = ("A spokesman for the New York State Department of State said the village was \"a strong candidate\" "
            "for a grant.")
    assert with_roles(models, body, "en") == [(None, "spokesman for the New York State Department of State")]


@pytest.mark.parametrize(("body", "organisation"), [
    ("Энергетики обещают восстановить подачу тока. «На линии работают 34 бригады», — сообщили в пресс-службе "
     "компании «Иркутские электросети».", "Иркутские электросети"),
    ("В «Сахалинэнерго» сообщили: «На восстановление сетей направлены 46 бригад».", "Сахалинэнерго"),
])
def test_an_organisation_speaking_is_the_speaker(models, body: str, organisation: str) -> None:  # type: ignore[no-untyped-def]
    assert [s for _, s in quotes(models, body)] == [organisation]


def test_a_quote_over_two_paragraphs_is_one_quote(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Первый заместитель главы администрации Сергей Мухин рассказал о сроках.\n\n"
            "«Мы начнем с участка от площади Славы. Движение там закроем на две недели.\n\n"
            "«Затем бригады перейдут на набережную, где работы будут идти по ночам», — пояснил чиновник.")
    assert quotes(models, body) == [(
        "Мы начнем с участка от площади Славы. Движение там закроем на две недели.\n\n"
        "Затем бригады перейдут на набережную, где работы будут идти по ночам", "Сергей Мухин")]


def test_an_english_quote_over_two_paragraphs(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Helen Marsh, the agency's area manager, said the barriers had been tested. \u201cThey went up in four hours.\n\n"
            "\u201cBut barriers only protect the places that have them,\u201d she said.")
    assert quotes(models, body, "en") == [
        ("They went up in four hours.\n\nBut barriers only protect the places that have them", "Helen Marsh")]


def test_an_institution_named_in_lower_case_speaks_in_its_statement(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Краевед Михаил Орлов считает, что новый корпус закроет вид на реку.\n\n"
            "В министерстве культуры региона заявили, что обсуждение проекта продолжится. «Мы готовы встретиться "
            "с жителями и показать все материалы проекта», — говорится в сообщении ведомства.")
    assert [s for _, s in quotes(models, body)] == ["министерство культуры региона"]


def test_a_statement_quoted_paragraphs_after_the_organisation_was_named(models) -> None:  # type: ignore[no-untyped-def]
    body = ("В компании-перевозчике «Приморские линии» объяснили, что ремонт нельзя было откладывать.\n\n"
            "В пресс-службе перевозчика добавили, что на линию выйдет катер меньшей вместимости.\n\n"
            "«Катер будет ходить дважды в день, но автомобили он не берёт», — говорится в заявлении компании.")
    assert [s for _, s in quotes(models, body)] == ["Приморские линии"]


def test_an_unnamed_organisation_speaking_is_never_the_person_in_focus(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Краевед Михаил Орлов выступил против проекта.\n\n"
            "«Мы готовы встретиться с жителями», — говорится в сообщении ведомства.")
    assert [s for _, s in quotes(models, body)] == [None]


def test_english_the_council_said_is_the_council_named_before(models) -> None:  # type: ignore[no-untyped-def]
    body = ("Tom Ridley, a marine scientist at Westshore University, said the outflow needed close monitoring.\n\n"
            "The Conservation Council said in a statement that it would scrutinise the approvals. \"We are not opposed "
            "to desalination, but this site is the wrong one,\" the council said.")
    assert [s for _, s in quotes(models, body, "en")] == ["Conservation Council"]
