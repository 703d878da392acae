"""Which time zone a date printed without one is in.

A page that prints «10 октября, 14:35» or a JSON-LD `datePublished` of
"2025-10-10T14:35:00" does not say in which zone that is. Reading it as UTC puts a
Moscow article three hours late, silently. `page_zone` decides the zone once per page,
from the strongest signal it has, and says where it came from so that provenance can
tell a reader how far to trust the time:

    given      the source's `timezone` (sources file) or `--timezone` on the command line  0.85
    page       an offset another date on the same page carries (+03:00)                     0.8
    clock      the local clock the page names («18:20 (время новосибирское)»)              0.75
    site       a city or region in the site's host, its name or a section of its URL
               (krasnoyarsk-gorod.ru, ekb.…, «Омский вестник», «… — Вечерний Иркутск»,
               the footer's «© 2026 «Тольяттинские известия»», /khabarovsk/)                    0.65
    geo        the page's geo.placename / geo.region meta tags («Новосибирск», RU-NVS, US-IL)  0.65
    contacts   the publisher's postal address in the page's JSON-LD, else the site's footer,
               contact and imprint blocks: a city in its postal address
               («г. Новосибирск», "Chicago, IL 60654"), its phone number's region or
               country (+7 343…, +7 727…, +380…, +49…), a country named there           0.6
    dateline   the city of a dateline opening the body («КАЛИНИНГРАД, 3 декабря.»), unless
               a news agency's credit follows it (the time is then the agency's)          0.6
    domain     the country-code domain of the page (.ru, .by, .ua, .kz, .uk, .ie, .au, .in…) 0.6
    locale     the country of `og:locale` / `<html lang>` / the page's own hreflang (ru_RU,
               en_GB, en-IE, en-au…)                                                          0.55
    language   the page's language where one zone covers most of its speakers (ru, uk, be…) 0.5
    unknown    nothing to go on: UTC, marked as a guess                                      0.4

The factor multiplies the confidence of the date's source in provenance. A date that
carries its own zone or offset never uses any of this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from urllib.parse import urlsplit

from services.parser.contacts import place_of_address, place_of_contacts, place_of_geo_tags
from services.parser.dates import zone
from services.parser.places import PLACES, Place, place_of_clock, place_of_dateline, places_in_label, places_in_name

# Country → the zone most of its news is published in (the capital's, for countries
# with several zones: a regional outlet should set `timezone` on its source). Country
# domains used worldwide as generic ones (.co, .io, .tv, .me, .fm) are left out.
COUNTRY_ZONES = {
    "ru": "Europe/Moscow", "by": "Europe/Minsk", "ua": "Europe/Kyiv", "kz": "Asia/Almaty", "uz": "Asia/Tashkent",
    "kg": "Asia/Bishkek", "tj": "Asia/Dushanbe", "tm": "Asia/Ashgabat", "az": "Asia/Baku", "am": "Asia/Yerevan",
    "ge": "Asia/Tbilisi", "md": "Europe/Chisinau", "lv": "Europe/Riga", "lt": "Europe/Vilnius", "ee": "Europe/Tallinn",
    "uk": "Europe/London", "gb": "Europe/London", "ie": "Europe/Dublin", "au": "Australia/Sydney",
    "nz": "Pacific/Auckland", "in": "Asia/Kolkata", "ca": "America/Toronto", "us": "America/New_York",
    "za": "Africa/Johannesburg", "sg": "Asia/Singapore", "de": "Europe/Berlin", "at": "Europe/Vienna",
    "ch": "Europe/Zurich", "fr": "Europe/Paris", "be": "Europe/Brussels", "nl": "Europe/Amsterdam",
    "es": "Europe/Madrid", "pt": "Europe/Lisbon", "it": "Europe/Rome", "pl": "Europe/Warsaw", "cz": "Europe/Prague",
    "sk": "Europe/Bratislava", "hu": "Europe/Budapest", "ro": "Europe/Bucharest", "bg": "Europe/Sofia",
    "rs": "Europe/Belgrade", "hr": "Europe/Zagreb", "si": "Europe/Ljubljana", "gr": "Europe/Athens",
    "fi": "Europe/Helsinki", "se": "Europe/Stockholm", "no": "Europe/Oslo", "dk": "Europe/Copenhagen",
    "tr": "Europe/Istanbul", "il": "Asia/Jerusalem", "jp": "Asia/Tokyo", "kr": "Asia/Seoul", "cn": "Asia/Shanghai",
    "br": "America/Sao_Paulo", "ar": "America/Argentina/Buenos_Aires", "mx": "America/Mexico_City",
    "cl": "America/Santiago",
}
# Languages most of whose news comes from one zone.
LANGUAGE_ZONES = {"ru": "Europe/Moscow", "uk": "Europe/Kyiv", "be": "Europe/Minsk", "kk": "Asia/Almaty",
                  "lv": "Europe/Riga", "lt": "Europe/Vilnius", "et": "Europe/Tallinn", "hy": "Asia/Yerevan",
                  "ka": "Asia/Tbilisi", "az": "Asia/Baku", "uz": "Asia/Tashkent",
                  # Central and northern Europe, Turkey, Israel, Japan, Korea: the language's
                  # countries share one zone (German in Germany, Austria and Switzerland).
                  "de": "Europe/Berlin", "pl": "Europe/Warsaw", "cs": "Europe/Prague", "sk": "Europe/Bratislava",
                  "hu": "Europe/Budapest", "ro": "Europe/Bucharest", "bg": "Europe/Sofia", "el": "Europe/Athens",
                  "fi": "Europe/Helsinki", "sv": "Europe/Stockholm", "nb": "Europe/Oslo", "nn": "Europe/Oslo",
                  "no": "Europe/Oslo", "da": "Europe/Copenhagen", "it": "Europe/Rome", "nl": "Europe/Amsterdam",
                  "sr": "Europe/Belgrade", "hr": "Europe/Zagreb", "sl": "Europe/Ljubljana", "tr": "Europe/Istanbul",
                  "he": "Asia/Jerusalem", "ja": "Asia/Tokyo", "ko": "Asia/Seoul"}
# Reserved names that never reach the public internet (RFC 2606/6761): a test site
# "news.ru.example" is read as the ".ru" site it stands for.
_RESERVED_SUFFIXES = (".example", ".test", ".invalid", ".localhost")
FACTORS = {"given": 0.85, "page": 0.8, "clock": 0.75, "site": 0.65, "geo": 0.65, "contacts": 0.6, "dateline": 0.6,
           "domain": 0.6, "locale": 0.55, "language": 0.5, "unknown": 0.4}
# Generic names a host may end in besides a country code.
_SECOND_LEVEL = {"com", "net", "org", "co", "gov", "edu", "ac", "info", "media", "news", "online", "site", "press"}


@dataclass(frozen=True)
class SiteSignals:
    """What the page says about where the site is: its name as printed (og:site_name, the
    part of <title> after the headline, the logo, the footer's copyright line), the body's first paragraph (for a
    dateline), the printed date lines (for a named local clock), the text of its footer,
    contact and imprint blocks, its geo.region / geo.placename meta tags, the hreflang it
    gives its own address, and the publisher's postal address in its JSON-LD."""

    names: list[str] = field(default_factory=list)
    dateline: str | None = None
    clock: str = ""
    contacts: str = ""
    geo_region: str | None = None
    geo_placename: str | None = None
    hreflangs: list[str] = field(default_factory=list)  # the hreflang the page gives its own address
    address: dict[str, str] | None = None  # the publisher's postal address in the page's JSON-LD


@dataclass(frozen=True)
class ZoneChoice:
    """The zone for dates printed without one, and why."""

    tz: tzinfo
    name: str  # IANA name or "+03:00"
    origin: str  # one of FACTORS
    reason: str  # for provenance: "Europe/Moscow from the .ru domain"

    @property
    def factor(self) -> float:
        return FACTORS[self.origin]


def _host(url: str | None) -> str:
    host = (urlsplit(url or "").hostname or "").lower().rstrip(".")
    for suffix in _RESERVED_SUFFIXES:
        if host.endswith(suffix):
            host = host[: -len(suffix)]
    return host


def _host_country(url: str | None) -> str | None:
    host = _host(url)
    label = host.rsplit(".", 1)[-1] if "." in host else ""
    return label if label in COUNTRY_ZONES else None


def _site_place(url: str | None, names: list[str], country: str | None) -> tuple[Place, str] | None:
    """A city or region the site names itself by: in its host, its printed name, or a
    section of its URL that is a place's name (/khabarovsk/…). A place in another country
    than the domain's is not the site's (Perth in a .uk host is the Scottish one)."""
    def fits(place: Place) -> bool:
        return country is None or place.country == country or COUNTRY_ZONES.get(place.country) == COUNTRY_ZONES[country]

    labels = [lab for lab in _host(url).split(".") if lab and lab not in COUNTRY_ZONES and lab not in _SECOND_LEVEL
              and lab != "www"]
    for label in labels:
        for place in places_in_label(label):
            if fits(place):
                return place, f"the site's address ({_host(url)})"
    for name in names:
        for place in places_in_name(name):
            if fits(place):
                return place, f"the site name «{name.strip()}»"
    segments = [seg for seg in urlsplit(url or "").path.lower().split("/") if seg][:-1]
    for seg in segments[:2]:
        for place in PLACES_BY_LATIN.get(seg.replace("-", " "), ()) + PLACES_BY_LATIN.get(seg, ()):
            if fits(place):
                return place, f"the regional section /{seg}/ of the address"
    return None


PLACES_BY_LATIN: dict[str, tuple[Place, ...]] = {}
for _place in PLACES:
    for _name in _place.latin:
        _plain = _name.replace("\\", "").lstrip("=")
        PLACES_BY_LATIN[_plain] = PLACES_BY_LATIN.get(_plain, ()) + (_place,)


def _locale_country(locale: str | None) -> str | None:
    match = re.fullmatch(r"\s*[a-z]{2,3}[-_]([a-z]{2})\s*", (locale or "").lower())
    if match is None:
        return None
    country = match.group(1)
    return country if country in COUNTRY_ZONES else None


def _offset_name(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def guess_language(text: str) -> str | None:
    """A page's language from its script when it declares none: Cyrillic text is Russian
    unless it has letters only Ukrainian (іїєґ) or Belarusian (ў) use."""
    sample = text[:3000]
    letters = [c for c in sample if c.isalpha()]
    if len(letters) < 50 or sum(1 for c in letters if "\u0400" <= c <= "\u04ff") < 0.6 * len(letters):
        return None
    lower = sample.lower()
    if any(c in lower for c in "їєґ") or " і " in lower:
        return "uk"
    if "ў" in lower:
        return "be"
    return "ru"


def page_zone(*, given: str | None, url: str | None, locales: list[str | None], language: str | None,
              aware_dates: list[datetime], text: str = "", site: SiteSignals | None = None) -> ZoneChoice:
    """The zone for this page's zone-less dates, from the strongest signal there is (see the module doc).

    `aware_dates` are dates of the same page that carried their own offset; `locales`
    are og:locale / <html lang> values in the order they are trusted; `text` (the
    page's text) gives the language by its script when the page declares none.
    """
    tz = zone(given)
    if tz is not None and given:
        return ZoneChoice(tz, given, "given", f"{given} from the source")
    # A zero offset is how machines write times ("…Z"), not a sign of the local zone.
    offsets = [d.utcoffset() for d in aware_dates if d.tzinfo is not None and d.utcoffset()]
    if offsets:
        offset = offsets[0]
        name = _offset_name(offset)  # type: ignore[arg-type]
        return ZoneChoice(timezone(offset), name, "page", f"{name} from another date on the page")  # type: ignore[arg-type]
    site = site or SiteSignals()
    country = _host_country(url)
    clock = place_of_clock(site.clock)
    if clock is not None:
        return ZoneChoice(zone(clock.zone), clock.zone, "clock", f"{clock.zone} from the local time the page names")  # type: ignore[arg-type]
    found = _site_place(url, site.names, country)
    if found is not None:
        place, where = found
        return ZoneChoice(zone(place.zone), place.zone, "site", f"{place.zone} from {where}")  # type: ignore[arg-type]

    def fits(country_of_place: str, zone_name: str) -> bool:
        return country is None or country_of_place == country or COUNTRY_ZONES.get(country) == zone_name

    geo = place_of_geo_tags(site.geo_region, site.geo_placename, COUNTRY_ZONES)
    if geo is not None and fits(geo.country, geo.zone):
        return ZoneChoice(zone(geo.zone), geo.zone, "geo", f"{geo.zone} from {geo.reason}")  # type: ignore[arg-type]
    contact = place_of_address(site.address, COUNTRY_ZONES) or place_of_contacts(site.contacts, COUNTRY_ZONES)
    if contact is not None and fits(contact.country, contact.zone):
        return ZoneChoice(zone(contact.zone), contact.zone, "contacts", f"{contact.zone} from {contact.reason}")  # type: ignore[arg-type]
    dateline = place_of_dateline(site.dateline)
    if dateline is not None and (country is None or dateline.country == country):
        return ZoneChoice(zone(dateline.zone), dateline.zone, "dateline", f"{dateline.zone} from the dateline «{(site.dateline or '').split(',')[0].strip()}»")  # type: ignore[arg-type]
    if country:
        name = COUNTRY_ZONES[country]
        return ZoneChoice(zone(name), name, "domain", f"{name} from the .{country} domain")  # type: ignore[arg-type]
    for locale in locales:
        country = _locale_country(locale)
        if country:
            name = COUNTRY_ZONES[country]
            return ZoneChoice(zone(name), name, "locale", f"{name} from the page's locale {locale.strip()}")  # type: ignore[arg-type, union-attr]
    language = language or guess_language(text)
    if language in LANGUAGE_ZONES:
        name = LANGUAGE_ZONES[language]
        return ZoneChoice(zone(name), name, "language", f"{name} from the page's language ({language})")  # type: ignore[arg-type]
    return ZoneChoice(timezone.utc, "UTC", "unknown", "no zone on the page or its site: read as UTC")
