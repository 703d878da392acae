"""Where a site is, from what it prints about itself: its contacts and its geo meta tags.

A site on a generic host (`.com`, `.net`, `.org`) that prints its dates without a zone
gives its place away elsewhere: the footer's phone number (+380 44 … is Kyiv, +7 (343) …
Yekaterinburg, +7 (727) … Almaty, +49 30 … Berlin), the editorial office's address
(«630099, г. Новосибирск», "440 N. Wells St., Chicago, IL 60654"), the country it names
there («Украина», "Deutschland"), and `geo.region` / `geo.placename` meta tags
(`RU-NVS`, «Новосибирск»). These are read from the page's footer, contact and imprint
blocks only (never the article, where a phone or an address is the story's), and each
answer says where it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.parser.places import places_in_name


@dataclass(frozen=True)
class SitePlace:
    """A zone the site's own contacts or geo tags point to, its country and why."""

    zone: str
    country: str
    reason: str


# International calling codes of countries with one zone for (nearly) all their news, and
# of multi-zone countries whose capital's zone covers most of it; +1 (North America) and
# Brazil, Mexico, Indonesia are left out (the number alone does not say which zone).
CALLING_CODES = {
    "380": "ua", "375": "by", "373": "md", "374": "am", "995": "ge", "994": "az", "998": "uz", "996": "kg",
    "992": "tj", "993": "tm", "371": "lv", "370": "lt", "372": "ee", "44": "uk", "353": "ie", "49": "de", "43": "at",
    "41": "ch", "33": "fr", "32": "be", "31": "nl", "34": "es", "351": "pt", "39": "it", "48": "pl", "420": "cz",
    "421": "sk", "36": "hu", "40": "ro", "359": "bg", "381": "rs", "385": "hr", "386": "si", "30": "gr", "358": "fi",
    "46": "se", "47": "no", "45": "dk", "90": "tr", "972": "il", "81": "jp", "82": "kr", "86": "cn", "91": "in",
    "65": "sg", "27": "za", "64": "nz", "54": "ar", "56": "cl",
}
# +7: Kazakhstan's numbers start with 6 or 7; Russia's geographic ones with 3, 4 or 8, and the
# region's code tells its zone. Codes not listed in the 4xx and 8xx ranges are European Russia
# (Moscow's zone); unlisted 3xx codes say nothing (the Urals and Siberia span four zones).
RU_AREA_CODES = {
    "301": "Asia/Irkutsk", "302": "Asia/Chita", "341": "Europe/Samara", "342": "Asia/Yekaterinburg",
    "343": "Asia/Yekaterinburg", "345": "Asia/Yekaterinburg", "346": "Asia/Yekaterinburg", "347": "Asia/Yekaterinburg",
    "349": "Asia/Yekaterinburg", "351": "Asia/Yekaterinburg", "352": "Asia/Yekaterinburg", "353": "Asia/Yekaterinburg",
    "381": "Asia/Omsk", "382": "Asia/Tomsk", "383": "Asia/Novosibirsk", "384": "Asia/Novokuznetsk",
    "385": "Asia/Barnaul", "388": "Asia/Barnaul", "390": "Asia/Krasnoyarsk", "391": "Asia/Krasnoyarsk",
    "394": "Asia/Krasnoyarsk", "395": "Asia/Irkutsk", "401": "Europe/Kaliningrad", "411": "Asia/Yakutsk",
    "413": "Asia/Magadan", "415": "Asia/Kamchatka", "416": "Asia/Yakutsk", "421": "Asia/Vladivostok",
    "423": "Asia/Vladivostok", "424": "Asia/Sakhalin", "426": "Asia/Vladivostok", "427": "Asia/Anadyr",
    "833": "Europe/Kirov", "842": "Europe/Ulyanovsk", "844": "Europe/Volgograd", "845": "Europe/Saratov",
    "846": "Europe/Samara", "848": "Europe/Samara", "851": "Europe/Astrakhan",
}
_NON_GEOGRAPHIC = ("800", "801", "803", "804", "809")  # toll-free and premium numbers: no place
# ISO 3166-2 codes of Russia's regions outside Moscow's zone (geo.region "RU-NVS").
RU_REGIONS = {
    "KGD": "Europe/Kaliningrad", "SAM": "Europe/Samara", "UD": "Europe/Samara", "ULY": "Europe/Ulyanovsk",
    "SAR": "Europe/Saratov", "AST": "Europe/Astrakhan", "VGG": "Europe/Volgograd", "KIR": "Europe/Kirov",
    "SVE": "Asia/Yekaterinburg", "CHE": "Asia/Yekaterinburg", "TYU": "Asia/Yekaterinburg", "KGN": "Asia/Yekaterinburg",
    "PER": "Asia/Yekaterinburg", "BA": "Asia/Yekaterinburg", "ORE": "Asia/Yekaterinburg", "KHM": "Asia/Yekaterinburg",
    "YAN": "Asia/Yekaterinburg", "OMS": "Asia/Omsk", "NVS": "Asia/Novosibirsk", "ALT": "Asia/Barnaul",
    "AL": "Asia/Barnaul", "TOM": "Asia/Tomsk", "KEM": "Asia/Novokuznetsk", "KYA": "Asia/Krasnoyarsk",
    "KK": "Asia/Krasnoyarsk", "TY": "Asia/Krasnoyarsk", "IRK": "Asia/Irkutsk", "BU": "Asia/Irkutsk",
    "ZAB": "Asia/Chita", "SA": "Asia/Yakutsk", "AMU": "Asia/Yakutsk", "PRI": "Asia/Vladivostok",
    "KHA": "Asia/Vladivostok", "YEV": "Asia/Vladivostok", "MAG": "Asia/Magadan", "SAK": "Asia/Sakhalin",
    "KAM": "Asia/Kamchatka", "CHU": "Asia/Anadyr",
}
# US states by postal abbreviation → the zone most of the state keeps.
US_STATES = {
    **dict.fromkeys("CT DE DC FL GA IN KY ME MD MA MI NH NJ NY NC OH PA RI SC VT VA WV".split(), "America/New_York"),
    **dict.fromkeys("AL AR IL IA KS LA MN MS MO NE ND OK SD TN TX WI".split(), "America/Chicago"),
    **dict.fromkeys("CO ID MT NM UT WY".split(), "America/Denver"),
    "AZ": "America/Phoenix", "CA": "America/Los_Angeles", "NV": "America/Los_Angeles", "OR": "America/Los_Angeles",
    "WA": "America/Los_Angeles", "AK": "America/Anchorage", "HI": "Pacific/Honolulu",
}
# Australian states and Canadian provinces as addresses print them ("Brisbane QLD 4000",
# "Toronto, ON M5V 2T6").
AU_STATES = {"NSW": "Australia/Sydney", "ACT": "Australia/Sydney", "VIC": "Australia/Melbourne", "QLD": "Australia/Brisbane",
             "SA": "Australia/Adelaide", "WA": "Australia/Perth", "TAS": "Australia/Hobart", "NT": "Australia/Darwin"}
CA_PROVINCES = {"ON": "America/Toronto", "QC": "America/Toronto", "BC": "America/Vancouver", "AB": "America/Edmonton",
                "SK": "America/Regina", "MB": "America/Winnipeg", "NS": "America/Halifax", "NB": "America/Halifax",
                "PE": "America/Halifax", "NL": "America/St_Johns"}
# Countries named in an address line, by the start of their name in the languages of the news read.
COUNTRY_NAMES = {
    "украин": "ua", "україн": "ua", "ukrain": "ua", "казахстан": "kz", "қазақстан": "kz", "kazakhstan": "kz",
    "беларус": "by", "белорус": "by", "belarus": "by", "узбекистан": "uz", "uzbekistan": "uz", "кыргызстан": "kg",
    "киргиз": "kg", "kyrgyz": "kg", "молдов": "md", "moldova": "md", "латви": "lv", "latvi": "lv", "литв": "lt",
    "lietuv": "lt", "lithuania": "lt", "эстони": "ee", "eesti": "ee", "estonia": "ee", "армени": "am", "armenia": "am",
    "азербайджан": "az", "azerbaijan": "az", "грузи": "ge", "deutschland": "de", "germany": "de", "österreich": "at",
    "austria": "at", "schweiz": "ch", "switzerland": "ch", "polska": "pl", "poland": "pl", "česk": "cz",
    "czech": "cz", "ireland": "ie", "india": "in", "singapore": "sg", "new zealand": "nz", "south africa": "za",
    "united kingdom": "uk", "england": "uk", "scotland": "uk", "wales": "uk",
}
# Multi-zone countries' capitals' zones, for a phone number's or a region code's country.
_COUNTRY_ZONE_FALLBACK = {"ru": "Europe/Moscow", "kz": "Asia/Almaty"}

_PHONE = re.compile(r"(?<![\w+])\+\s?(\d{1,3})[\s\u00a0.(-]*\(?\s*(\d{2,5})")
_US_ADDRESS = re.compile(r"\b[A-Z][A-Za-z.' -]{1,40},\s*([A-Z]{2})\s+\d{5}(?:-\d{4})?\b")
_AU_ADDRESS = re.compile(r"\b(NSW|ACT|VIC|QLD|SA|WA|TAS|NT)\s+\d{4}\b")
_CA_ADDRESS = re.compile(r"\b(ON|QC|BC|AB|SK|MB|NS|NB|PE|NL)\s+[A-Z]\d[A-Z]\s?\d[A-Z]\d\b")
_RU_CITY = re.compile(r"(?<![А-Яа-яЁё])(?:г\.|город)\s*([А-ЯЁ][а-яё-]+(?:[ -][А-ЯЁ][а-яё-]+)?)")
_COUNTRY = re.compile(r"(?<![\w])(" + "|".join(sorted(COUNTRY_NAMES, key=len, reverse=True)) + r")", re.I)


def _phone_zone(text: str, zones: dict[str, str]) -> SitePlace | None:
    for match in _PHONE.finditer(text):
        digits = match.group(1) + match.group(2)
        if digits.startswith("7"):
            area = digits[1:4]
            if area.startswith(("6", "7")):
                return SitePlace("Asia/Almaty", "kz", f"the phone number +7 {area} in the site's contacts")
            if len(area) < 3 or area.startswith("9") or area in _NON_GEOGRAPHIC:
                continue
            zone = RU_AREA_CODES.get(area) or ("Europe/Moscow" if area.startswith(("4", "8")) else None)
            if zone:
                return SitePlace(zone, "ru", f"the phone number +7 {area} in the site's contacts")
            continue
        if digits.startswith("1"):
            continue
        for length in (3, 2):
            country = CALLING_CODES.get(digits[:length])
            if country and country in zones:
                return SitePlace(zones[country], country, f"the phone number +{digits[:length]} in the site's contacts")
    return None


def place_of_contacts(text: str | None, zones: dict[str, str]) -> SitePlace | None:
    """The site's place from its footer, contact and imprint text: a city or state in its postal
    address («г. Новосибирск», "Chicago, IL 60654", "Brisbane QLD 4000", "Toronto, ON M5V 2T6"), else its phone number's region or country, else a
    country named there. `zones` maps country codes to their zone (zones.COUNTRY_ZONES)."""
    if not text:
        return None
    for match in _US_ADDRESS.finditer(text):
        zone = US_STATES.get(match.group(1))
        if zone:
            return SitePlace(zone, "us", f"the site's postal address (…, {match.group(1)} …)")
    for regex, states, country in ((_AU_ADDRESS, AU_STATES, "au"), (_CA_ADDRESS, CA_PROVINCES, "ca")):
        for match in regex.finditer(text):
            return SitePlace(states[match.group(1)], country, f"the site's postal address (… {match.group(0)})")
    for match in _RU_CITY.finditer(text):
        found = places_in_name(match.group(1))
        if found:
            return SitePlace(found[0].zone, found[0].country, f"the site's postal address («{match.group(0)}»)")
    phone = _phone_zone(text, zones)
    if phone is not None:
        return phone
    for match in _COUNTRY.finditer(text):
        country = COUNTRY_NAMES[match.group(1).lower()]
        if country in zones:
            return SitePlace(zones[country], country, f"the country named in the site's contacts ({match.group(1)})")
    return None


def place_of_geo_tags(region: str | None, placename: str | None, zones: dict[str, str]) -> SitePlace | None:
    """The site's place from its `geo.placename` («Новосибирск», "Chicago, IL") or `geo.region`
    (ISO 3166-2: "RU-NVS", "US-IL", "UA-30", "DE-BE") meta tags."""
    if placename:
        found = places_in_name(placename[:1].upper() + placename[1:])
        if found:
            return SitePlace(found[0].zone, found[0].country, f"the page's geo.placename «{placename.strip()}»")
    match = re.fullmatch(r"\s*([A-Za-z]{2})(?:-([A-Za-z0-9]{1,3}))?\s*", region or "")
    if match is None:
        return None
    country, sub = match.group(1).lower(), (match.group(2) or "").upper()
    country = "uk" if country == "gb" else country
    zone = (RU_REGIONS.get(sub) if country == "ru" else US_STATES.get(sub) if country == "us" else None)
    if zone is None and country not in ("us", "ca", "au", "br", "mx", "id"):
        zone = zones.get(country) or _COUNTRY_ZONE_FALLBACK.get(country)
    if zone is None:
        return None
    return SitePlace(zone, country, f"the page's geo.region {region.strip()}")  # type: ignore[union-attr]


_COUNTRY_CODES_BY_NAME = {"russia": "ru", "россия": "ru", "российская федерация": "ru", "usa": "us", "united states": "us",
                          "united states of america": "us", "australia": "au", "canada": "ca", "gb": "uk"}


def place_of_address(address: dict[str, str] | None, zones: dict[str, str]) -> SitePlace | None:
    """The site's place from the postal address its JSON-LD gives the publisher
    ({"addressLocality": "Новосибирск", "addressCountry": "RU"}, {"addressRegion": "IL",
    "addressCountry": "US"}): a city or region of the gazetteer, a US, Australian or Canadian
    state, else the country's zone."""
    if not address:
        return None
    raw_country = (address.get("addressCountry") or "").strip()
    country = _COUNTRY_CODES_BY_NAME.get(raw_country.lower()) or (raw_country.lower() if len(raw_country) == 2 else None)
    if country is None and raw_country:
        match = _COUNTRY.search(raw_country)
        country = COUNTRY_NAMES[match.group(1).lower()] if match else None
    locality, region = address.get("addressLocality") or "", address.get("addressRegion") or ""
    where = ", ".join(v for v in (locality, region, raw_country) if v)
    reason = f"the publisher's address in the page's JSON-LD ({where})"
    states = {"us": US_STATES, "au": AU_STATES, "ca": CA_PROVINCES}.get(country or "")
    if states and region.upper() in states:
        return SitePlace(states[region.upper()], country, reason)  # type: ignore[arg-type]
    for name in (locality, region):
        for place in places_in_name(name[:1].upper() + name[1:]):
            if country is None or place.country == country:
                return SitePlace(place.zone, place.country, reason)
    if country in zones and country not in ("us", "ca", "au", "br", "mx"):
        return SitePlace(zones[country], country, reason)
    return None
