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
}

_RU_MONTH_RE = r"(январ[яь]|феврал[яь]|марта?|апрел[яь]|ма[яй]|июн[яь]|июл[яь]|августа?|сентябр[яь]|октябр[яь]|ноябр[яь]|декабр[яь])"
_EN_MONTH_RE = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_SEP = r"(?:[,•·|—–-])"
_TIME_RE = r"(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?"
_ZONE_RE = r"(?:\s*\(?\s*(MSK|МСК|UTC|GMT|BST|CET|CEST|EET|EEST|ET|EST|EDT|PT|PST|PDT|CT|CST|CDT)\b\)?|\s*(?:UTC|GMT)?\s*([+-]\d{1,2}(?::?\d{2})?))?"

RU_DATE = re.compile(
    rf"(\d{{1,2}})\s+{_RU_MONTH_RE}\s+(\d{{4}})(?:\s*(?:г\.|года|г)?)?(?:\s*{_SEP}?\s*(?:в\s+)?{_TIME_RE}{_ZONE_RE})?",
    re.I,
)
EN_DATE_DMY = re.compile(
    rf"(?:\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+{_EN_MONTH_RE},?\s+(\d{{4}})(?:\s*(?:{_SEP}|at)?\s*{_TIME_RE}{_ZONE_RE})?",
    re.I,
)
EN_DATE_MDY = re.compile(
    rf"{_EN_MONTH_RE}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?:\s*(?:{_SEP}|at)?\s*{_TIME_RE}{_ZONE_RE})?",
    re.I,
)
ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)\b")
OTHER_DATE = re.compile(
    rf"(\d{{1,2}})\.?\s+(?:de\s+)?({'|'.join(sorted(MONTH_WORDS, key=len, reverse=True))})\s+(?:de\s+)?(\d{{4}})(?:\s*(?:г\.|р\.|года|року|гады)?)?"
    rf"(?:\s*(?:{_SEP}|a las|às|alle|à|um|в|о|а)?\s*{_TIME_RE}{_ZONE_RE})?",
    re.I,
)
# 21/10/2025 - 11:20, 10/23/2025 6:52 AM EDT, 14-10-2025, 18:05, 14.10.25 в 09:30
SLASHED_DATE = re.compile(rf"\b(\d{{1,2}})([/.\-])(\d{{1,2}})\2(\d{{4}}|\d{{2}})\b(?:\s*(?:{_SEP}|в|at)?\s*{_TIME_RE}{_ZONE_RE})?", re.I)
RELATIVE_RU = re.compile(r"(\d+)\s+(минут[уы]?|час(?:а|ов)?|дн(?:я|ей)|день)\s+назад", re.I)
RELATIVE_EN = re.compile(r"(\d+)\s+(minutes?|mins?|hours?|hrs?|days?)\s+ago", re.I)
TODAY = re.compile(rf"(сегодня|вчера|today|yesterday)\s*,?\s*(?:в|at)?\s*{_TIME_RE}", re.I)


def zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_iso(value: str | None, default_tz: tzinfo | None = None) -> datetime | None:
    """ISO 8601 or RFC 822; a naive value takes `default_tz` (None → stays naive)."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None and default_tz is not None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed


def _tz_from_groups(abbr: str | None, offset: str | None, default_tz: tzinfo | None) -> tuple[tzinfo | None, bool]:
    if abbr:
        return ZONE_ABBREVIATIONS.get(abbr.upper()), True
    if offset:
        sign = -1 if offset.startswith("-") else 1
        digits = offset[1:].replace(":", "")
        hours = int(digits[:-2] or digits) if len(digits) > 2 else int(digits)
        minutes = int(digits[-2:]) if len(digits) > 2 else 0
        return timezone(sign * timedelta(hours=hours, minutes=minutes)), True
    return default_tz, False


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


def _ru_month(word: str) -> int | None:
    word = word.lower()
    for stem, number in RU_MONTHS.items():
        if word.startswith(stem) and (stem != "ма" or word in ("мая", "май")):
            return number
    return None


def _en_month(word: str) -> int | None:
    return EN_MONTHS.get(word.lower().rstrip(".")[:4] if word.lower().startswith("sept") else word.lower().rstrip(".")[:3])


def parse_text_date(
    text: str, *, default_tz: tzinfo | None = None, reference: datetime | None = None, prefer_time: bool = False,
    local_zone: tzinfo | None = None,
) -> tuple[datetime, bool] | None:
    """The first absolute or relative date in `text`: (datetime, zone_was_explicit).

    «Сегодня, 14:35» / «вчера в 9:10» are days counted from `reference` in `local_zone`
    (the page's zone: when it is 23:40 UTC it is already tomorrow in Vladivostok), else
    in `default_tz`, else in the reference's own zone; the clock time stays naive unless
    `default_tz` is given.

    With `prefer_time`, the first date that carries a time of day wins over an
    earlier bare date (a page header's "Thursday, 23 October 2025").

    Returns None when no date is found. A date without a zone gets `default_tz` (or
    stays naive when that is None); callers decide how much to trust it.
    """
    if not text:
        return None
    text = text.replace("\xa0", " ")
    candidates: list[tuple[int, datetime, bool]] = []
    for match in RU_DATE.finditer(text):
        month = _ru_month(match.group(2))
        if month:
            tz, explicit = _tz_from_groups(match.group(8), match.group(9), default_tz)
            try:
                dt = _build(date(int(match.group(3)), month, int(match.group(1))), match.group(4), match.group(5), match.group(6), None, tz)
            except ValueError:
                dt = None
            if dt:
                candidates.append((match.start(), dt, explicit))
    for match in SLASHED_DATE.finditer(text):
        first, second, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
        if year < 100:
            year += 2000
        ampm, abbr = match.group(8), match.group(9)
        # Day first, as most of the world writes it; month first when the day cannot be
        # first, or when the line is American (a.m./p.m., US zones) and both could be.
        american = bool(ampm) or (abbr or "").upper() in ("ET", "EST", "EDT", "CT", "CST", "CDT", "PT", "PST", "PDT")
        day, month = (second, first) if first <= 12 and (second > 12 or american) else (first, second)
        tz, explicit = _tz_from_groups(abbr, match.group(10), default_tz)
        try:
            dt = _build(date(year, month, day), match.group(5), match.group(6), match.group(7), ampm, tz)
        except ValueError:
            dt = None
        if dt:
            candidates.append((match.start(), dt, explicit))
    for match in OTHER_DATE.finditer(text):
        month = MONTH_WORDS.get(match.group(2).lower())
        tz, explicit = _tz_from_groups(match.group(8), match.group(9), default_tz)
        try:
            dt = _build(date(int(match.group(3)), month, int(match.group(1))), match.group(4), match.group(5), match.group(6), match.group(7), tz) if month else None
        except ValueError:
            dt = None
        if dt:
            candidates.append((match.start(), dt, explicit))
    for regex, order in ((EN_DATE_DMY, "dmy"), (EN_DATE_MDY, "mdy")):
        for match in regex.finditer(text):
            if order == "dmy":
                day, month_word, year = match.group(1), match.group(2), match.group(3)
            else:
                month_word, day, year = match.group(1), match.group(2), match.group(3)
            month = _en_month(month_word)
            if not month:
                continue
            tz, explicit = _tz_from_groups(match.group(8), match.group(9), default_tz)
            try:
                dt = _build(date(int(year), month, int(day)), match.group(4), match.group(5), match.group(6), match.group(7), tz)
            except ValueError:
                dt = None
            if dt:
                candidates.append((match.start(), dt, explicit))
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
    return RELATIVE_EN.sub(" ", RELATIVE_RU.sub(" ", text))


def _relative(text: str, reference: datetime, default_tz: tzinfo | None, local_zone: tzinfo | None = None) -> datetime | None:
    match = RELATIVE_RU.search(text) or RELATIVE_EN.search(text)
    if match:
        amount = int(match.group(1))
        unit = match.group(2).lower()
        if unit.startswith(("мин", "min")):
            delta = timedelta(minutes=amount)
        elif unit.startswith(("час", "hour", "hr")):
            delta = timedelta(hours=amount)
        else:
            delta = timedelta(days=amount)
        return reference - delta
    match = TODAY.search(text)
    if match:
        day_zone = local_zone or default_tz
        local = reference.astimezone(day_zone) if day_zone and reference.tzinfo else reference
        day = local.date() - (timedelta(days=1) if match.group(1).lower() in ("вчера", "yesterday") else timedelta())
        # Without a zone the clock time stays naive: the caller knows the page's zone.
        return _build(day, match.group(2), match.group(3), match.group(4), match.group(5), default_tz)
    return None
