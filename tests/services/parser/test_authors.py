import pytest

from services.parser.authors import clean_authors


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["Мария Иванова, 12 октября 2025, 09:10"], ["Мария Иванова"]),
        (["Текст: Иван Петров"], ["Иван Петров"]),
        (["Иван Петров и Анна Смирнова"], ["Иван Петров", "Анна Смирнова"]),
        (["By Hannah Whitfield and Owen Pritchard"], ["Hannah Whitfield", "Owen Pritchard"]),
        (["Анна Соколова", "Фото: Сергей Морозов"], ["Анна Соколова"]),
        (["Текст: Наталья Гусева. Фото: Ирина Быкова"], ["Наталья Гусева"]),
        (["https://example.com/authors/ivan"], []),
        (["Photograph: Getty Images"], []),
        (["Иван Петров", "иван петров"], ["Иван Петров"]),
    ],
)
def test_bylines_become_clean_name_lists(raw: list[str], expected: list[str]) -> None:
    assert clean_authors(raw) == expected
