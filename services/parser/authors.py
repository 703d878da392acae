"""Author lists without the junk bylines carry.

Bylines glue names to dates («Мария Иванова, 12 октября 2025, 09:10»), prefix them
(«Текст:», "By"), list several («Иван Петров и Анна Смирнова», "A, B and C", or
with nothing but a space between two full names: «Ирина Петрова Олег Смирнов»), and
sit next to photo credits («Фото: …», "Photograph: …") that are not authors at all.
"""

from __future__ import annotations

import re

from services.parser.document import normalize_space

_PREFIX = re.compile(
    r"^(текст|автор(?:ы)?|подготовил[аи]?|беседовал[аи]?|материал подготовил[аи]?|by|written by|words by|reporting by|от)\s*[:：]?\s*",
    re.I,
)
_CREDIT = re.compile(r"^(фото|фотография|photo|photograph|photos|image|illustration|иллюстрация|видео|video|графика|инфографика)\b", re.I)
_SPLIT = re.compile(r"\s*(?:,|;|\||\s+и\s+|\s+and\s+|\s+&\s+|\s+/\s+)\s*", re.I)
_DATEISH = re.compile(
    r"(\d{1,2}[:.]\d{2}|\b\d{4}\b|\d{1,2}\.\d{1,2}\.|"
    r"\d{1,2}\s+(январ|феврал|март|апрел|ма[яй]|июн|июл|август|сентябр|октябр|ноябр|декабр)|"
    r"\b(january|february|march|april|june|july|august|september|october|november|december)\b|"
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)\.?\s+\d|"
    r"\bсегодня\b|\bвчера\b|\bназад\b|\bago\b|\bupdated\b|\bpublished\b|обновлено)",
    re.I,
)
_ROLE = re.compile(
    r"\b(корреспондент|обозреватель|редактор|журналист|специальный|спецкор|correspondent|editor|reporter|staff|writer|columnist|"
    r"in [A-Z][a-z]+$|политический|экономический|научный|в [А-ЯЁ][а-яё]+е$)\b.*$",
    re.I,
)
_EMAIL = re.compile(r"\S+@\S+")
_NAME_TOKEN = re.compile(r"^[A-ZА-ЯЁ][\w'’.\-]*$")


def _looks_like_name(text: str) -> bool:
    words = text.split()
    # One word is a desk, an agency or a role ("Newswire", "Health", "Senior"), not a person.
    if not 2 <= len(words) <= 5:
        return False
    if _DATEISH.search(text) or any(ch.isdigit() for ch in text):
        return False
    capitalised = sum(1 for w in words if _NAME_TOKEN.match(w))
    return capitalised >= max(1, len(words) - 1)


_PATRONYMIC = re.compile(r"(?:ович|евич|ич|овна|евна|ична|инична)$", re.I)
_PARTICLE = re.compile(r"^(?:van|von|de|del|der|da|di|du|la|le|bin|ibn|al|el|ter|ten|dos|das|y|и|and)$", re.I)


def split_full_names(text: str) -> list[str]:
    """Two or three full names written one after another with only spaces between them.

    «Ирина Петрова Олег Смирнов» → «Ирина Петрова», «Олег Смирнов»; a Russian name with
    a patronymic takes three words («Иван Сергеевич Петров Олег Смирнов»). Anything
    else (one name, particles such as "van" or "de", an odd number of words without a
    patronymic) stays as it is.
    """
    words = text.split()
    if len(words) < 4 or any(_PARTICLE.match(w) or not _NAME_TOKEN.match(w) or w.endswith(".") for w in words):
        return [text]
    names: list[str] = []
    i = 0
    while i < len(words):
        size = 3 if i + 2 < len(words) and _PATRONYMIC.search(words[i + 1]) else 2
        if i + size > len(words):
            return [text]
        names.append(" ".join(words[i:i + size]))
        i += size
    return names if len(names) > 1 else [text]


def clean_authors(raw: list[str], *, exclude: set[str] | None = None) -> list[str]:
    """Normalise raw author strings into a de-duplicated list of person names."""
    exclude_lower = {e.lower() for e in (exclude or set()) if e}
    names: list[str] = []
    for item in raw:
        text = normalize_space(item)
        if not text or text.startswith(("http://", "https://", "/")):
            continue
        text = _EMAIL.sub("", text)
        # A credit line is never an author, and nothing after «Фото:» is either.
        credit = re.search(r"(?:^|[\s,;|])(фото|фотография|photo|photograph|image|иллюстрация)\s*:", text, re.I)
        if credit:
            text = text[: credit.start()]
        text = _PREFIX.sub("", text.strip(" ,;|—–-"))
        parts = [name for piece in _SPLIT.split(text) for name in split_full_names(normalize_space(piece))]
        for part in parts:
            part = _PREFIX.sub("", normalize_space(part).strip(" ,;|—–-•·"))
            part = re.sub(r"\s*[(\[][^)\]]*[)\]]", "", part)  # «Юлия Маркова (текст)»
            if "@" in part:
                continue  # a social handle, not a byline
            part = _ROLE.sub("", part).strip(" ,;|—–-")
            if part.endswith(".") and not re.search(r"(?:^|\s)\w\.$", part):
                part = part[:-1]  # sentence punctuation, not an initial
            if not part or _CREDIT.match(part) or not _looks_like_name(part):
                continue
            if part.lower() in exclude_lower:
                continue
            if part.isupper() and len(part) > 3:
                part = part.title()
            if part.lower() not in {n.lower() for n in names}:
                names.append(part)
    return names
