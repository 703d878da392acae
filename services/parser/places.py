"""Cities and regions → the IANA zone their local news is published in.

A country-code domain says Moscow for every `.ru` site, which is wrong for a Novosibirsk,
Omsk or Vladivostok outlet (UTC+2 to UTC+12 in Russia alone), and a `.com` site in the
US or an Australian one outside Sydney has the same problem. The site usually says where
it is: its host (krasnoyarsk-gorod.ru, denverledger.com), its name («Омский вестник»,
«Вечерний Иркутск», "The Denver Daily Ledger"), a regional section of its URL
(/khabarovsk/…), a dateline («КАЛИНИНГРАД, 3 декабря.») or the clock it names («время
новосибирское»). This gazetteer turns those words into a zone.

Each place has a country (so that a city in a `.uk` host is never read as Australia's
Perth), the abbreviations federal networks name their regional editions by (`ekb.`,
`nsk.`, `irk.`, `khv.`: three letters count only as a whole label, and so do longer ones
marked `=`, `=chel` for `chel.` but not "chelsea"), Russian word stems (matched at the start of a capitalised word, so «Омский»,
«Омска», «Омск» all count and «Томск» is not «Омск») and Latin names (a host's label, or a
capitalised word or phrase in English). Places whose name is also a common word or is
shared by far-apart places (Portland, Victoria, Georgia, Birmingham) are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    zone: str
    country: str
    ru: tuple[str, ...]  # stems, matched at the start of a capitalised word
    latin: tuple[str, ...]  # names, lower case; "=chel": an abbreviation matched only as a whole host label


def _p(zone: str, country: str, ru: str = "", latin: str = "") -> Place:
    return Place(zone, country, tuple(s for s in ru.split("|") if s), tuple(s for s in latin.split("|") if s))


PLACES: tuple[Place, ...] = (
    # Russia, west to east. Moscow-zone cities are listed too, so that a site's own city
    # outweighs a city it merely mentions.
    _p("Europe/Kaliningrad", "ru", "калининград|янтарн", "kaliningrad|klgd|kgd|koenig|kenig"),
    _p("Europe/Moscow", "ru", "москв|московск|петербург|санкт-петербург|питер|ленинград|казан|нижегородск|нижн(?:ий|его|ем) новгород|"
       "воронеж|ростов|краснодар|кубан|сочи\\b|сочинск|ярославл|твер|курск|вологд|архангельск|мурманск|петрозаводск|карели|смоленск|"
       "брянск|тульск|тул[аыеу]\\b|рязан|саранск|пенз|чебоксар|чуваш|ставрополь|махачкал|дагестан|крым|севастопол|белгород|"
       "липецк|тамбов|орл[ао]вск|калуг|калужск|владимирск|иваново|ивановск|костром|новгородск|псков|сыктывкар|коми\\b",
       "moskva|moscow|msk|spb|petersburg|peterburg|kazan|nnov|voronezh|rostov|krasnodar|kuban|sochi|yaroslavl|tver|"
       "kursk|vologda|arkhangelsk|murmansk|petrozavodsk|karelia|smolensk|bryansk|tula|ryazan|saransk|penza|"
       "cheboksary|stavropol|makhachkala|dagestan|crimea|sevastopol|belgorod|lipetsk|tambov|kaluga|kostroma|pskov|syktyvkar"),
    _p("Europe/Volgograd", "ru", "волгоград", "volgograd"),
    _p("Europe/Kirov", "ru", "киров|вятск", "kirov"),
    _p("Europe/Samara", "ru", "самар|тольятт|ижевск|удмурт", "samara|tolyatti|togliatti|izhevsk|udmurtia"),
    _p("Europe/Ulyanovsk", "ru", "ульяновск", "ulyanovsk"),
    _p("Europe/Saratov", "ru", "саратов", "saratov"),
    _p("Europe/Astrakhan", "ru", "астрахан", "astrakhan"),
    _p("Asia/Yekaterinburg", "ru", "екатеринбург|свердловск|урал|челябинск|магнитогорск|тюмен|курган|перм|уф[аыеу]\\b|уфимск|"
       "башкир|башкорт|оренбург|сургут|ханты-мансийск|югр|ямал|салехард|нижневартовск|нижн(?:ий|его|ем) тагил",
       "ekaterinburg|yekaterinburg|ekburg|ekb|tmn|sverdlovsk|ural|chelyabinsk|=chel|magnitogorsk|tyumen|kurgan|perm|ufa|"
       "bashkiria|bashkortostan|orenburg|surgut|ugra|yamal|salekhard|nizhnevartovsk"),
    _p("Asia/Omsk", "ru", "омск", "omsk"),
    _p("Asia/Novosibirsk", "ru", "новосибирск|сибир|бердск|академгород", "novosibirsk|novosib|nsk|sibir|siberia|sib|berdsk"),
    _p("Asia/Barnaul", "ru", "барнаул|алтайск|алта[йя]\\b|горно-алтайск|бийск", "barnaul|altai|altay|biysk"),
    _p("Asia/Tomsk", "ru", "томск", "tomsk"),
    _p("Asia/Novokuznetsk", "ru", "кемеров|кузбас|новокузнецк", "kemerovo|kuzbass|novokuznetsk"),
    _p("Asia/Krasnoyarsk", "ru", "красноярск|норильск|хакас|абакан|тыв[аыеу]\\b|тувинск|кызыл", "krasnoyarsk|krsk|norilsk|khakassia|abakan|tuva|kyzyl"),
    _p("Asia/Irkutsk", "ru", "иркутск|ангарск|братск|байкал|бурят|улан-удэ", "irkutsk|irk|angarsk|bratsk|baikal|buryatia|ulan-ude"),
    _p("Asia/Chita", "ru", "чит[аыеу]\\b|читинск|забайкал", "chita|zabaykalye|zabaikalye"),
    _p("Asia/Yakutsk", "ru", "якут|благовещенск|амурск(?:ая|ой|ую) област|приамур", "yakutsk|ykt|yakutia|sakha|blagoveshchensk"),
    _p("Asia/Vladivostok", "ru", "владивосток|примор|хабаровск|находк|уссурийск|комсомольск-на-амуре|биробиджан|дальн(?:ий|его|ем|евосточн)",
       "vladivostok|primorye|primamedia|khabarovsk|habarovsk|khv|nakhodka|ussuriysk|birobidzhan|dalniy|dvostok"),
    _p("Asia/Magadan", "ru", "магадан|колым", "magadan|kolyma"),
    _p("Asia/Sakhalin", "ru", "сахалин|южно-сахалинск|курил", "sakhalin|kuril"),
    _p("Asia/Kamchatka", "ru", "камчат|петропавловск-камчатск", "kamchatka"),
    _p("Asia/Anadyr", "ru", "чукот|анадыр", "chukotka|anadyr"),
    # United States
    _p("America/New_York", "us", latin="new york|nyc|boston|philadelphia|washington|baltimore|atlanta|miami|orlando|tampa|"
       "detroit|cleveland|pittsburgh|cincinnati|columbus|charlotte|raleigh|buffalo|newark|hartford|florida|"
       "ohio|michigan|virginia|carolina|new jersey|massachusetts|pennsylvania|connecticut|indianapolis"),
    _p("America/Chicago", "us", latin="chicago|houston|dallas|austin|san antonio|fort worth|texas|minneapolis|st\\. paul|"
       "minnesota|milwaukee|wisconsin|st\\. louis|kansas city|missouri|kansas|new orleans|louisiana|nashville|memphis|"
       "oklahoma|tulsa|omaha|nebraska|iowa|des moines|illinois|alabama|mississippi|arkansas|little rock"),
    _p("America/Denver", "us", latin="denver|colorado|salt lake|utah|boise|idaho|albuquerque|new mexico|wyoming|montana|billings"),
    _p("America/Phoenix", "us", latin="phoenix|arizona|tucson|scottsdale|mesa"),
    _p("America/Los_Angeles", "us", latin="los angeles|san francisco|san diego|san jose|sacramento|oakland|california|seattle|"
       "tacoma|spokane|oregon|las vegas|nevada|reno|fresno|long beach"),
    _p("America/Anchorage", "us", latin="anchorage|alaska|fairbanks|juneau"),
    _p("Pacific/Honolulu", "us", latin="honolulu|hawaii"),
    # Canada
    _p("America/Toronto", "ca", latin="toronto|ottawa|ontario|montreal|quebec"),
    _p("America/Vancouver", "ca", latin="vancouver|british columbia|kelowna"),
    _p("America/Edmonton", "ca", latin="calgary|edmonton|alberta"),
    _p("America/Regina", "ca", latin="regina|saskatoon|saskatchewan"),
    _p("America/Winnipeg", "ca", latin="winnipeg|manitoba"),
    _p("America/Halifax", "ca", latin="halifax|nova scotia|new brunswick|moncton|fredericton"),
    _p("America/St_Johns", "ca", latin="newfoundland|st\\. john's"),
    # Australia
    _p("Australia/Sydney", "au", latin="sydney|canberra|new south wales|newcastle herald"),
    _p("Australia/Melbourne", "au", latin="melbourne|geelong"),
    _p("Australia/Brisbane", "au", latin="brisbane|queensland|gold coast|townsville|cairns"),
    _p("Australia/Adelaide", "au", latin="adelaide|south australia"),
    _p("Australia/Perth", "au", latin="perth|western australia|fremantle"),
    _p("Australia/Darwin", "au", latin="darwin|northern territory|alice springs"),
    _p("Australia/Hobart", "au", latin="hobart|tasmania|launceston"),
    # Brazil, Mexico, Indonesia
    _p("America/Manaus", "br", latin="manaus|amazonas"),
    _p("America/Cuiaba", "br", latin="cuiaba|cuiabá|mato grosso"),
    _p("America/Porto_Velho", "br", latin="porto velho|rondonia|rondônia"),
    _p("America/Rio_Branco", "br", latin="rio branco|acre"),
    _p("America/Tijuana", "mx", latin="tijuana|mexicali|baja california"),
    _p("America/Hermosillo", "mx", latin="hermosillo|sonora"),
    _p("America/Mazatlan", "mx", latin="mazatlan|mazatlán|culiacan|culiacán|sinaloa"),
    _p("America/Cancun", "mx", latin="cancun|cancún|quintana roo"),
    _p("Asia/Makassar", "id", latin="makassar|bali|denpasar|sulawesi"),
    _p("Asia/Jayapura", "id", latin="jayapura|papua"),
)

# An agency's credit after a dateline: «— РИА Новости.», "(AP) —", «/ТАСС/»: a short name, then a stop.
_WIRE_CREDIT = re.compile(r"^\s*(?:[—–-]\s*[^\s.,—–][^.,\n—–]{1,28}?\s*\.|\(\s*[^)]{1,30}\)|/[^/\n]{1,30}/)")


def _ru_pattern(place: Place) -> re.Pattern[str] | None:
    if not place.ru:
        return None
    return re.compile(r"(?<![А-Яа-яЁё-])(?:" + "|".join(place.ru) + ")", re.IGNORECASE)


def _latin_pattern(place: Place) -> re.Pattern[str] | None:
    if not place.latin:
        return None
    names = [name for name in place.latin if not name.startswith("=")]  # abbreviations are not printed names
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(names) + r")(?![a-z])", re.IGNORECASE) if names else None


_COMPILED = [(place, _ru_pattern(place), _latin_pattern(place)) for place in PLACES]


def places_in_name(text: str | None) -> list[Place]:
    """Places a site's name or a heading names, by capitalised words: «Омский вестник»,
    «Вечерний Иркутск», "The Denver Daily Ledger". First mention first."""
    if not text:
        return []
    found: list[tuple[int, Place]] = []
    for place, ru, latin in _COMPILED:
        for pattern in (ru, latin):
            if pattern is None:
                continue
            for m in pattern.finditer(text):
                if m.group(0)[:1].isupper():
                    found.append((m.start(), place))
                    break
    found.sort(key=lambda pair: pair[0])
    return [place for _, place in found]


def places_in_label(label: str) -> list[Place]:
    """Places a host's label or a URL path segment spells in Latin letters:
    "krasnoyarsk-gorod", "vestnik-omsk", "omskinform", "denverdailyledger". A name
    counts as a whole part between hyphens, or at the start or the end of a part four
    letters or longer (four for a Russian one), the longest name first (so "tomsk" is never
    "omsk")."""
    hits: list[tuple[int, Place]] = []
    for part in re.split(r"[-_.]", label.lower()):
        if not part:
            continue
        best: tuple[int, Place] | None = None
        for place in PLACES:
            for name in place.latin:
                plain = name.replace("\\", "").replace(" ", "").lstrip("=")
                if not plain.isalpha():
                    continue
                whole = part == plain
                if name.startswith("="):  # an abbreviation: a whole label only ("chel", not "chelsea")
                    if whole and (best is None or len(plain) > best[0]):
                        best = (len(plain), place)
                    continue
                # four letters are enough for a transliterated Russian name ("omskinform"), not for
                # an English word ("renovation" is not Reno)
                long_enough = len(plain) >= 5 or (len(plain) == 4 and place.country == "ru")
                edge = long_enough and (part.startswith(plain) or part.endswith(plain))
                if (whole or edge) and (best is None or len(plain) > best[0]):
                    best = (len(plain), place)
        if best is not None:
            hits.append(best)
    return [place for _, place in hits]


_DATELINE = re.compile(r"^\s*([А-ЯЁA-Z][А-ЯЁA-Z.\s-]{2,40}?)\s*(?:,|\s[—–]\s|\(|\s/)")


def place_of_dateline(text: str | None) -> Place | None:
    """The city of a dateline opening the body («КАЛИНИНГРАД, 3 декабря.», "DENVER —"),
    unless a news agency's credit follows it: then the time printed is the agency's, not
    the city's («НОВОСИБИРСК, 3 декабря — РИА Новости.»)."""
    if not text:
        return None
    m = _DATELINE.match(text)
    if m is None or not m.group(1).replace(" ", "").replace("-", "").replace(".", "").isupper():
        return None
    rest = text[m.end() - 1:m.end() + 80].lstrip(",/ ")
    rest = re.sub(r"^\s*\d{1,2}\s+\w+\.?(?:\s+\d{4})?\s*", "", rest)  # the date after the city
    if _WIRE_CREDIT.search(rest):
        return None
    name = m.group(1).strip().title()
    found = places_in_name(name)
    return found[0] if found else None


_LOCAL_CLOCK = re.compile(
    r"(?:(?:время|времени)\s+(?P<a>[а-яё-]+(?:ое|ому))|(?P<b>[а-яё-]+(?:ое|ому))\s+(?:время|времени))", re.IGNORECASE)


def place_of_clock(text: str | None) -> Place | None:
    """The clock a page says it prints: «18:20 (время новосибирское)», «по омскому времени»."""
    if not text:
        return None
    for m in _LOCAL_CLOCK.finditer(text):
        word = m.group("a") or m.group("b")
        if word.lower().startswith("местн"):
            continue  # «время местное» names no place
        found = places_in_name(word[0].upper() + word[1:])
        if found:
            return found[0]
    return None
