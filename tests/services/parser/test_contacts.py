"""Where a site is from its contacts (address, phone, country named) and its geo meta tags."""

from __future__ import annotations

import pytest

from services.parser.contacts import place_of_address, place_of_contacts, place_of_geo_tags
from services.parser.zones import COUNTRY_ZONES


@pytest.mark.parametrize(
    ("text", "zone", "country"),
    [
        ("Редакция: 01001, ул. Крещатик, 22. Тел.: +380 44 235-17-90", "Europe/Kyiv", "ua"),
        ("Телефон: +7 (727) 259-81-44. Реклама: +7 (701) 555-12-12", "Asia/Almaty", "kz"),
        ("Телефон редакции: +7 (343) 312-45-67", "Asia/Yekaterinburg", "ru"),
        ("Тел. +7 (3812) 21-00-00", "Asia/Omsk", "ru"),
        ("+7 (495) 123-45-67", "Europe/Moscow", "ru"),
        ("Impressum: Breite Straße 12, 13187 Berlin. Telefon +49 30 4781 2290", "Europe/Berlin", "de"),
        ("Tel. +375 17 200-00-00", "Europe/Minsk", "by"),
    ],
)
def test_a_phone_number_says_the_country_and_for_russia_the_region(text: str, zone: str, country: str) -> None:
    found = place_of_contacts(text, COUNTRY_ZONES)
    assert found is not None and (found.zone, found.country) == (zone, country)
    assert "phone number" in found.reason


def test_toll_free_mobile_and_north_american_numbers_say_nothing() -> None:
    assert place_of_contacts("Горячая линия 8-800-100-00-00, +7 (800) 100-00-00, +7 916 123-45-67", COUNTRY_ZONES) is None
    assert place_of_contacts("Call us: +1 (312) 555-0100", COUNTRY_ZONES) is None
    # the Urals and Siberia span four zones: an unknown 3xx code is no answer
    assert place_of_contacts("+7 (399) 100-00-00", COUNTRY_ZONES) is None


def test_a_mobile_number_before_the_office_number_is_skipped() -> None:
    found = place_of_contacts("Реклама: +7 (912) 000-00-00; редакция: +7 (383) 200-00-00", COUNTRY_ZONES)
    assert found is not None and found.zone == "Asia/Novosibirsk"


def test_a_us_postal_address_says_the_state_zone() -> None:
    found = place_of_contacts("The Lakeshore Courier, 440 N. Wells St., Suite 300, Chicago, IL 60654", COUNTRY_ZONES)
    assert found is not None and (found.zone, found.country) == ("America/Chicago", "us")
    assert place_of_contacts("1 Main St, Boise, ID 83702", COUNTRY_ZONES).zone == "America/Denver"  # type: ignore[union-attr]


def test_a_russian_postal_address_city_outweighs_the_phone() -> None:
    found = place_of_contacts("630099, г. Новосибирск, ул. Ленина, 1. Тел. +7 (495) 000-00-00", COUNTRY_ZONES)
    assert found is not None and found.zone == "Asia/Novosibirsk" and "postal address" in found.reason


def test_a_country_named_in_the_contacts_when_there_is_no_phone() -> None:
    found = place_of_contacts("Адрес: 220030, Беларусь, Минск, пр. Независимости, 4", COUNTRY_ZONES)
    assert found is not None and (found.zone, found.country) == ("Europe/Minsk", "by")


def test_contacts_without_a_place_say_nothing() -> None:
    assert place_of_contacts("© 2026 Все права защищены. 18+", COUNTRY_ZONES) is None
    assert place_of_contacts("", COUNTRY_ZONES) is None


@pytest.mark.parametrize(
    ("region", "placename", "zone"),
    [
        ("RU-NVS", None, "Asia/Novosibirsk"),
        ("RU-MOW", None, "Europe/Moscow"),
        ("US-IL", None, "America/Chicago"),
        ("UA-30", None, "Europe/Kyiv"),
        ("DE-BE", None, "Europe/Berlin"),
        ("GB-LND", None, "Europe/London"),
        (None, "Новосибирск", "Asia/Novosibirsk"),
        ("RU", "Омск", "Asia/Omsk"),
    ],
)
def test_geo_meta_tags(region: str | None, placename: str | None, zone: str) -> None:
    found = place_of_geo_tags(region, placename, COUNTRY_ZONES)
    assert found is not None and found.zone == zone


def test_a_multi_zone_country_without_its_state_is_no_answer() -> None:
    assert place_of_geo_tags("US", None, COUNTRY_ZONES) is None
    assert place_of_geo_tags("AU", None, COUNTRY_ZONES) is None
    assert place_of_geo_tags("nonsense", None, COUNTRY_ZONES) is None


@pytest.mark.parametrize(
    ("text", "zone"),
    [("River City Newsroom, Level 2, 10 Queen St, Brisbane QLD 4000", "Australia/Brisbane"),
     ("PO Box 12, Fremantle WA 6160", "Australia/Perth"),
     ("100 King St W, Toronto, ON M5X 1A9", "America/Toronto"),
     ("1 Main St, Calgary, AB T2P 1J9", "America/Edmonton")],
)
def test_australian_and_canadian_postal_addresses_say_the_state_zone(text: str, zone: str) -> None:
    found = place_of_contacts(text, COUNTRY_ZONES)
    assert found is not None and found.zone == zone and "postal address" in found.reason


@pytest.mark.parametrize(
    ("address", "zone"),
    [({"addressLocality": "Новосибирск", "addressCountry": "RU"}, "Asia/Novosibirsk"),
     ({"addressLocality": "Chicago", "addressRegion": "IL", "postalCode": "60654", "addressCountry": "US"}, "America/Chicago"),
     ({"addressLocality": "Denver", "addressCountry": "United States"}, "America/Denver"),
     ({"addressLocality": "Kyiv", "addressCountry": "UA"}, "Europe/Kyiv"),
     ({"addressLocality": "Москва", "addressCountry": "Россия"}, "Europe/Moscow"),
     ({"addressRegion": "QLD", "addressCountry": "AU"}, "Australia/Brisbane")],
)
def test_the_publishers_jsonld_address(address: dict[str, str], zone: str) -> None:
    found = place_of_address(address, COUNTRY_ZONES)
    assert found is not None and found.zone == zone and "publisher's address" in found.reason


def test_a_publishers_address_in_a_multi_zone_country_without_its_state_is_no_answer() -> None:
    assert place_of_address({"addressLocality": "Springfield", "addressCountry": "US"}, COUNTRY_ZONES) is None
    assert place_of_address(None, COUNTRY_ZONES) is None
