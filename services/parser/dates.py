"""Dates as news sites print them, made timezone-aware.

- ISO 8601 and RFC 822 (machine-readable sources),
- Russian: «10 октября 2025, 14:35», «10 октября 2025 г. в 14:35», «10.10.2025 14:35»,
  «сегодня, 14:35», «вчера в 09:10»,
- English: "Fri 10 Oct 2025 14.35 BST", "October 10, 2025 at 2:35 p.m. ET", "10 October 2025",
- relative: «2 часа назад», "3 hours ago" (resolved against the fetch time).

A time printed with an abbreviation (MSK, BST, ET…) or an offset is read in that zone;
one printed without any stays naive here, and the parser reads it in the zone
`zones.page_zone` chooses for the page (the source's, else one inferred from the site).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

RU_MONTHS = {
    "январ": 1, "феврал": 2, "март": 3, "апрел": 4, "ма": 5, "июн": 6, "июл": 7, "август": 8,
    "сентябр": 9, "октябр": 10, "ноябр": 11, "декабр": 12,
}
# Other languages' month names (genitive where the language inflects them), by number.
MONTH_WORDS = {
    # Ukrainian
    "січня": 1, "лютого": 2, "березня": 3, "квітня": 4, "травня": 5, "червня": 6, "липня": 7, "серпня": 8,
    "вересня": 9, "жовтня": 10, "листопада": 11, "грудня": 12,
    # Belarusian
    "студзеня": 1, "лютага": 2, "сакавіка": 3, "красавіка": 4, "траўня": 5, "чэрвеня": 6, "ліпеня": 7, "жніўня": 8,
    "верасня": 9, "кастрычніка": 10, "лістапада": 11, "снежня": 12,
    # Spanish, Portuguese, Italian, French, German
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8, "septiembre": 9,
    "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "janeiro": 1, "fevereiro": 2, "março": 3, "maio": 5, "junho": 6, "julho": 7, "setembro": 9, "outubro": 10,
    "novembro": 11, "dezembro": 12,
    "gennaio": 1, "febbraio": 2, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7, "settembre": 9, "ottobre": 10,
    "dicembre": 12,
    "janvier": 1, "février": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7, "août": 8, "septembre": 9,
    "octobre": 10, "novembre": 11, "décembre": 12,
    "januar": 1, "februar": 2, "märz": 3, "juni": 6, "juli": 7, "oktober": 10, "dezember": 12,
    # Polish, Czech (genitive), Dutch, Turkish
    "stycznia": 1, "lutego": 2, "marca": 3, "kwietnia": 4, "maja": 5, "czerwca": 6, "lipca": 7, "sierpnia": 8,
    "września": 9, "października": 10, "listopada": 11, "grudnia": 12,
    "ledna": 1, "února": 2, "března": 3, "dubna": 4, "května": 5, "června": 6, "července": 7, "srpna": 8,
    "září": 9, "října": 10, "listopadu": 11, "prosince": 12,
    "januari": 1, "februari": 2, "maart": 3, "mei": 5, "augustus": 8,
    "ocak": 1, "şubat": 2, "nisan": 4, "mayıs": 5, "haziran": 6, "temmuz": 7, "ağustos": 8, "eylül": 9,
    "ekim": 10, "kasım": 11, "aralık": 12,
    # Kazakh (one form: dates print the nominative, «3 желтоқсан 2026»)
    "қаңтар": 1, "ақпан": 2, "наурыз": 3, "сәуір": 4, "мамыр": 5, "маусым": 6, "шілде": 7, "тамыз": 8,
    "қыркүйек": 9, "қазан": 10, "қараша": 11, "желтоқсан": 12,
}
# Abbreviated month names other than Russian and English ones, as dates print them
# («3 груд. 2026»): matched only with a dot or at a word's end, so «3 листи» is no date.
MONTH_ABBREVIATIONS = {
    # Ukrainian
    "січ": 1, "лют": 2, "бер": 3, "квіт": 4, "трав": 5, "черв": 6, "лип": 7, "серп": 8, "вер": 9, "жовт": 10,
    "лист": 11, "груд": 12,
}
EN_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}
ZONE_ABBREVIATIONS: dict[str, tzinfo] = {
    "MSK": ZoneInfo("Europe/Moscow"), "МСК": ZoneInfo("Europe/Moscow"),
    "UTC": timezone.utc, "GMT": timezone.utc, "Z": timezone.utc,
    "BST": timezone(timedelta(hours=1)), "CET": timezone(timedelta(hours=1)), "CEST": timezone(timedelta(hours=2)),
    "EET": timezone(timedelta(hours=2)), "EEST": timezone(timedelta(hours=3)),
    "ET": ZoneInfo("America/New_York"), "EST": timezone(timedelta(hours=-5)), "EDT": timezone(timedelta(hours=-4)),
    "PT": ZoneInfo("America/Los_Angeles"), "PST": timezone(timedelta(hours=-8)), "PDT": timezone(timedelta(hours=-7)),
    "CT": ZoneInfo("America/Chicago"), "CST": timezone(timedelta(hours=-6)), "CDT": timezone(timedelta(hours=-5)),
    "MT": ZoneInfo("America/Denver"), "MST": timezone(timedelta(hours=-7)), "MDT": timezone(timedelta(hours=-6)),
    "AKST": timezone(timedelta(hours=-9)), "AKDT": timezone(timedelta(hours=-8)), "HST": timezone(timedelta(hours=-10)),
    "WET": timezone.utc, "WEST": timezone(timedelta(hours=1)), "MEZ": timezone(timedelta(hours=1)),
    "MESZ": timezone(timedelta(hours=2)),
    # "IST" is India's in news far more often than Ireland's summer time or Israel's.
    "IST": timezone(timedelta(hours=5, minutes=30)), "PKT": timezone(timedelta(hours=5)),
    "SGT": timezone(timedelta(hours=8)), "HKT": timezone(timedelta(hours=8)), "JST": timezone(timedelta(hours=9)),
    "KST": timezone(timedelta(hours=9)), "AWST": timezone(timedelta(hours=8)), "ACST": timezone(timedelta(hours=9, minutes=30)),
    "ACDT": timezone(timedelta(hours=10, minutes=30)), "AEST": timezone(timedelta(hours=10)),
    "AEDT": timezone(timedelta(hours=11)), "NZST": timezone(timedelta(hours=12)), "NZDT": timezone(timedelta(hours=13)),
    "SAST": timezone(timedelta(hours=2)), "EAT": timezone(timedelta(hours=3)), "WAT": timezone(timedelta(hours=1)),
    "CAT": timezone(timedelta(hours=2)),
}

# Full names, and the abbreviations dates are printed with on many sites («3 дек. 2026»).
_RU_MONTH_RE = (r"(январ[яь]|феврал[яь]|марта?|апрел[яь]|ма[яй]|июн[яь]|июл[яь]|августа?|сентябр[яь]|октябр[яь]|ноябр[яь]|декабр[яь]"
                r"|(?:янв|февр?|апр|авг|сент?|окт|нояб?|дек)(?![а-яё])\.?)")
_EN_MONTH_RE = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_SEP = r"(?:[,•·|—–/-])"
_TIME_RE = r"(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?"
# An abbreviation, or an offset with or without "UTC"/"GMT" before it ("GMT+3" is +03:00, not GMT).
_ZONE_NAMES = ("MSK|МСК|UTC|GMT|BST|CET|CEST|EET|EEST|ET|EST|EDT|PT|PST|PDT|CT|CST|CDT|MT|MST|MDT|AKST|AKDT|HST|WET|WEST|MEZ|MESZ|"
               "IST|PKT|SGT|HKT|JST|KST|AWST|ACST|ACDT|AEST|AEDT|NZST|NZDT|SAST|EAT|WAT|CAT")
_ZONE_RE = rf"(?:\s*\(?\s*({_ZONE_NAMES})\b(?!\s*[+-]\d)\)?|\s*\(?\s*(?:UTC|GMT)?\s*([+-]\d{{1,2}}(?::?\d{{2}})?)\b\)?)?"

RU_DATE = re.compile(
    rf"(\d{{1,2}})\s+{_RU_MONTH_RE}(?:\s+(\d{{4}}))?(?:\s*(?:г\.|года|г)?)?(?:\s*{_SEP}?\s*(?:в\s+)?{_TIME_RE}{_ZONE_RE})?",
    re.I,
)
EN_DATE_DMY = re.compile(
    rf"(?:\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+{_EN_MONTH_RE}(?:,?\s+(\d{{4}}))?(?:\s*(?:{_SEP}|at)?\s*{_TIME_RE}{_ZONE_RE})?",
    re.I,
)
EN_DATE_MDY = re.compile(
    rf"\b{_EN_MONTH_RE}\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?(?:\s*(?:{_SEP}|at)?\s*{_TIME_RE}{_ZONE_RE})?",
    re.I,
)
ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)\b")
_OTHER_MONTHS = "|".join(sorted(MONTH_WORDS, key=len, reverse=True))
_OTHER_ABBREVIATIONS = "|".join(sorted(MONTH_ABBREVIATIONS, key=len, reverse=True))
OTHER_DATE = re.compile(
    rf"(\d{{1,2}})\.?\s+(?:de\s+)?({_OTHER_MONTHS}|(?:{_OTHER_ABBREVIATIONS})(?:\.|(?![\w])))(?:\s+(?:de\s+)?(\d{{4}}))?(?:\s*(?:г\.|р\.|ж\.|года|року|гады|жыл)?)?"
    rf"(?:\s*(?:{_SEP}|a las|às|alle|à|um|в|о|а|o godz\.|godz\.|saat|kl\.|om)?\s*{_TIME_RE}{_ZONE_RE})?",
    re.I,
)
# 21/10/2025 - 11:20, 10/23/2025 6:52 AM EDT, 14-10-2025, 18:05, 14.10.25 в 09:30
SLASHED_DATE = re.compile(rf"\b(\d{{1,2}})([/.\-])(\d{{1,2}})\2(\d{{4}}|\d{{2}})\b(?:\s*(?:{_SEP}|в|at)?\s*{_TIME_RE}{_ZONE_RE})?", re.I)
RELATIVE_RU = re.compile(r"(\d+)\s+(минут[уы]?|час(?:а|ов)?|дн(?:я|ей)|день|хвилин[иу]?|годин[иу]?|дн(?:і|ів))\s+(?:назад|тому)", re.I)
RELATIVE_EN = re.compile(r"(\d+)\s+(minutes?|mins?|hours?|hrs?|days?|minuty?|godzin[ya]?|dni)\s+(?:ago|temu)", re.I)
# One unit without a number: «час назад», «минуту назад», "an hour ago", "a minute ago".
RELATIVE_ONE = re.compile(r"(?<!\d\s)(?<!\d)\b(минуту|час|день|an?)\s*(hour|minute|day)?\s+(?:назад|ago)\b", re.I)
# German and Spanish put the word first: "vor 20 Minuten", "hace 2 horas".
RELATIVE_BEFORE = re.compile(r"\b(?:vor|hace)\s+(\d+)\s+(minuten?|stunden?|tag(?:en)?|minutos?|horas?|d[ií]as?)\b", re.I)
# Today and yesterday in the languages the parser reads, with the words put before the time.
_TODAY_WORDS = ("сегодня", "today", "сьогодні", "сёння", "heute", "dzisiaj", "dziś", "hoy", "aujourd'hui", "oggi", "hoje")
_YESTERDAY_WORDS = ("вчера", "yesterday", "вчора", "учора", "gestern", "wczoraj", "ayer", "hier", "ieri", "ontem")
TODAY = re.compile(rf"(?<![\w])({'|'.join(_TODAY_WORDS + _YESTERDAY_WORDS)})\s*,?\s*(?:в|at|о|а|a|um|o|à|a las|alle|às)?\s*{_TIME_RE}", re.I)


def zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# RFC 822 as feeds write it ("Fri, 10 Oct 2025 14:35:00 +0300"). The email parser also
# accepts printed dates it half understands ("03 Dec 2026, 14:35 GMT+3" as 14:35 with no
# zone), so only this shape goes to it; the rest is read by parse_text_date.
_RFC822 = re.compile(r"\s*(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?:[+-]\d{4}|[A-Za-z]{1,5}))?\s*")


# Unix time as sites put it in data-timestamp / data-time attributes and state JSON: seconds
# (10 digits) or milliseconds (13 digits), i.e. 2001-09-09 to 2286: no other number looks so.
_EPOCH = re.compile(r"\s*(\d{10}|\d{13})(?:\.\d+)?\s*")


def parse_epoch(value: str | None) -> datetime | None:
    """Unix seconds or milliseconds (an absolute instant, so UTC-aware), or None."""
    match = _EPOCH.fullmatch(value or "")
    if match is None:
        return None
    number = int(match.group(1))
    return datetime.fromtimestamp(number / 1000 if len(match.group(1)) == 13 else number, tz=timezone.utc)


def parse_iso(value: str | None, default_tz: tzinfo | None = None) -> datetime | None:
    """ISO 8601 or RFC 822; a naive value takes `default_tz` (None → stays naive)."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        if not _RFC822.fullmatch(text):
            return None
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None and default_tz is not None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed


# Abbreviations that are also words ("ist" in German, "eat", "cat"): a zone only in capitals.
_WORDLIKE_ZONES = {"IST", "EAT", "CAT", "MT", "WAT", "ET", "PT", "CT"}


def _tz_from_groups(abbr: str | None, offset: str | None, default_tz: tzinfo | None) -> tuple[tzinfo | None, bool]:
    if abbr and not (abbr.upper() in _WORDLIKE_ZONES and not abbr.isupper()):
        return ZONE_ABBREVIATIONS.get(abbr.upper()), True
    if offset:
        sign = -1 if offset.startswith("-") else 1
        digits = offset[1:].replace(":", "")
        hours = int(digits[:-2] or digits) if len(digits) > 2 else int(digits)
        minutes = int(digits[-2:]) if len(digits) > 2 else 0
        return timezone(sign * timedelta(hours=hours, minutes=minutes)), True
    return default_tz, False


# A clock time printed before its date: «14:35, 3 декабря 2026», «14:35 03.12.2026»,
# "2:35pm, 3 December 2026", "14:35 GMT, 3 December 2026".
# A weekday may stand between them: "6:10 a.m. CT Thu, Dec 3, 2026", «14:35, чт, 3 декабря 2026».
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*|пн|вт|ср|чт|пт|сб|вс|понедельник|вторник|среда|четверг|пятница|суббота|воскресенье)\.?,?"
_TIME_BEFORE = re.compile(rf"(?<![\d.:/])(\d{{1,2}})[:.](\d{{2}})(?:[:.](\d{{2}}))?\s*(a\.?m\.?|p\.?m\.?)?{_ZONE_RE}\s*(?:{_SEP}|\s)\s*(?:{_WEEKDAY}\s*)?$", re.I)


def _clock(text: str, match: re.Match[str], first: int) -> tuple[str | None, ...]:
    """(hour, minute, second, am/pm, zone abbreviation, offset) of a date match whose groups
    start at `first`; the time printed just before the date when none follows it."""
    groups = match.group(first, first + 1, first + 2, first + 3, first + 4, first + 5)
    if groups[0] is not None:
        return groups
    before = _TIME_BEFORE.search(text[max(0, match.start() - 30):match.start()])
    return before.groups() if before else groups


def _year(year: str | None, month: int, day: int, now: datetime | None) -> int | None:
    """The printed year, or for «3 декабря, 14:35» (this year's dates printed without one) the
    year that puts the day closest before `now` (December's dates read in January are last year's)."""
    if year:
        return int(year) + (2000 if len(year) == 2 else 0)
    if now is None:
        return None
    try:
        return now.year if date(now.year, month, day) <= now.date() + timedelta(days=2) else now.year - 1
    except ValueError:
        return now.year - 1


def _hour(h: str, ampm: str | None) -> int:
    hour = int(h)
    if ampm:
        pm = ampm.lower().startswith("p")
        if pm and hour < 12:
            hour += 12
        if not pm and hour == 12:
            hour = 0
    return hour


def _build(d: date, h: str | None, m: str | None, s: str | None, ampm: str | None, tz: tzinfo | None) -> datetime | None:
    try:
        t = time(_hour(h, ampm), int(m), int(s or 0)) if h is not None and m is not None else time(0, 0)
        dt = datetime.combine(d, t)
    except ValueError:
        return None
    return dt.replace(tzinfo=tz) if tz is not None else dt


_RU_MONTH_ABBREVIATIONS = {"янв": 1, "фев": 2, "мар": 3, "апр": 4, "июн": 6, "июл": 7, "авг": 8, "сен": 9, "окт": 10,
                           "ноя": 11, "дек": 12}


def _ru_month(word: str) -> int | None:
    word = word.lower().rstrip(".")
    for stem, number in RU_MONTHS.items():
        if word.startswith(stem) and (stem != "ма" or word in ("мая", "май")):
            return number
    return _RU_MONTH_ABBREVIATIONS.get(word[:3])


def _en_month(word: str) -> int | None:
    return EN_MONTHS.get(word.lower().rstrip(".")[:4] if word.lower().startswith("sept") else word.lower().rstrip(".")[:3])


def parse_text_date(
    text: str, *, default_tz: tzinfo | None = None, reference: datetime | None = None, prefer_time: bool = False,
    local_zone: tzinfo | None = None, now: datetime | None = None,
) -> tuple[datetime, bool] | None:
    """The first absolute or relative date in `text`: (datetime, zone_was_explicit).

    «Сегодня, 14:35» / «вчера в 9:10» are days counted from `reference` in `local_zone`
    (the page's zone: when it is 23:40 UTC it is already tomorrow in Vladivostok), else
    in `default_tz`, else in the reference's own zone; the clock time stays naive unless
    `default_tz` is given.

    With `prefer_time`, the first date that carries a time of day wins over an
    earlier bare date (a page header's "Thursday, 23 October 2025").

    A time printed before the date («14:35, 3 декабря 2026») is the date's. With `now`
    (the fetch time), a day printed without a year but with a time («3 декабря, 14:35»)
    is the latest such day not after `now`; without `now`, or without a time, a yearless
    day is not a date (prose is full of «до 3 декабря»).

    Returns None when no date is found. A date without a zone gets `default_tz` (or
    stays naive when that is None); callers decide how much to trust it.
    """
    if not text:
        return None
    text = text.replace("\xa0", " ")
    candidates: list[tuple[int, datetime, bool]] = []

    def add(match: re.Match[str], day: int, month: int | None, year: str | None, first_time_group: int) -> None:
        if not month:
            return
        h, m, sec, ampm, abbr, offset = _clock(text, match, first_time_group)
        if not year and h is None:
            return
        full_year = _year(year, month, day, now)
        if full_year is None:
            return
        tz, explicit = _tz_from_groups(abbr, offset, default_tz)
        try:
            dt = _build(date(full_year, month, day), h, m, sec, ampm, tz)
        except ValueError:
            dt = None
        if dt:
            candidates.append((match.start(), dt, explicit))

    for match in RU_DATE.finditer(text):
        add(match, int(match.group(1)), _ru_month(match.group(2)), match.group(3), 4)
    for match in SLASHED_DATE.finditer(text):
        first, second = int(match.group(1)), int(match.group(3))
        h, m, sec, ampm, abbr, offset = _clock(text, match, 5)
        # Day first, as most of the world writes it; month first when the day cannot be
        # first, or when the line is American (a.m./p.m., US zones) and both could be.
        american = bool(ampm) or (abbr or "").upper() in ("ET", "EST", "EDT", "CT", "CST", "CDT", "PT", "PST", "PDT")
        day, month = (second, first) if first <= 12 and (second > 12 or american) else (first, second)
        if 1 <= month <= 12:
            add(match, day, month, match.group(4), 5)
    for match in OTHER_DATE.finditer(text):
        word = match.group(2).lower()
        add(match, int(match.group(1)), MONTH_WORDS.get(word) or MONTH_ABBREVIATIONS.get(word.rstrip(".")), match.group(3), 4)
    for regex, order in ((EN_DATE_DMY, "dmy"), (EN_DATE_MDY, "mdy")):
        for match in regex.finditer(text):
            if order == "dmy":
                day, month_word, year = match.group(1), match.group(2), match.group(3)
            else:
                month_word, day, year = match.group(1), match.group(2), match.group(3)
            add(match, int(day), _en_month(month_word), year, 4)
    for match in ISO_DATE.finditer(text):
        dt = parse_iso(match.group(1), default_tz)
        if dt:
            candidates.append((match.start(), dt, dt.tzinfo is not None and default_tz is None))
    if candidates:
        candidates.sort(key=lambda c: c[0])
        if prefer_time:
            timed = [c for c in candidates if (c[1].hour, c[1].minute) != (0, 0)]
            if timed:
                return timed[0][1], timed[0][2]
        _, dt, explicit = candidates[0]
        return dt, explicit
    if reference is not None:
        relative = _relative(text, reference, default_tz, local_zone)
        if relative:
            return relative, True
    return None


def strip_relative(text: str) -> str:
    """Text without its relative dates («2 часа назад», "3 hours ago"), so an absolute date next to one wins."""
    return RELATIVE_ONE.sub(" ", RELATIVE_BEFORE.sub(" ", RELATIVE_EN.sub(" ", RELATIVE_RU.sub(" ", text))))


def _relative(text: str, reference: datetime, default_tz: tzinfo | None, local_zone: tzinfo | None = None) -> datetime | None:
    match = RELATIVE_RU.search(text) or RELATIVE_EN.search(text) or RELATIVE_BEFORE.search(text)
    if match:
        amount = int(match.group(1))
        unit = match.group(2).lower()
        if unit.startswith(("мин", "min", "хвил")):
            delta = timedelta(minutes=amount)
        elif unit.startswith(("час", "hour", "hr", "год", "stund", "hora")):
            delta = timedelta(hours=amount)
        else:
            delta = timedelta(days=amount)
        return reference - delta
    match = RELATIVE_ONE.search(text)
    if match and (match.group(2) or match.group(1).lower() not in ("a", "an")):
        unit = (match.group(2) or match.group(1)).lower()
        delta = timedelta(minutes=1) if unit.startswith(("мин", "min")) else timedelta(hours=1) if unit.startswith(("час", "hour")) else timedelta(days=1)
        return reference - delta
    match = TODAY.search(text)
    if match:
        day_zone = local_zone or default_tz
        local = reference.astimezone(day_zone) if day_zone and reference.tzinfo else reference
        day = local.date() - (timedelta(days=1) if match.group(1).lower() in _YESTERDAY_WORDS else timedelta())
        # Without a zone the clock time stays naive: the caller knows the page's zone.
        return _build(day, match.group(2), match.group(3), match.group(4), match.group(5), default_tz)
    return None
