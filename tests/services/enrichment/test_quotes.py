"""Quotes and speakers: the press patterns of issue 5, one small text each."""

from __future__ import annotations

import pytest

from services.enrichment.logic import enrich
from tests.services.enrichment.conftest import article


def quotes(models, body: str, language: str = "ru") -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    enriched = enrich(article("Заголовок" if language == "ru" else "Headline", body, language=language), models)
    for q in enriched.quotes:
        assert enriched.body[q.start:q.end] == q.text
    return [(q.text, q.speaker) for q in enriched.quotes]


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
