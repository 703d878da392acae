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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["Ирина Петрова Олег Смирнов"], ["Ирина Петрова", "Олег Смирнов"]),
        (["Jane Doe Tom Reid Ann Lee"], ["Jane Doe", "Tom Reid", "Ann Lee"]),
        (["Иван Сергеевич Петров Олег Смирнов"], ["Иван Сергеевич Петров", "Олег Смирнов"]),
        (["Анна Петрова, Олег Смирнов и Павел Дёмин"], ["Анна Петрова", "Олег Смирнов", "Павел Дёмин"]),
    ],
)
def test_two_full_names_with_only_a_space_between_are_two_authors(raw: list[str], expected: list[str]) -> None:
    assert clean_authors(raw) == expected


@pytest.mark.parametrize("name", ["Ludwig van Beethoven Smith", "John Paul Smith", "Anna Maria Lopez"])
def test_one_long_name_is_not_split(name: str) -> None:
    assert clean_authors([name]) == [name]
