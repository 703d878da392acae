"""Direct quotes and who said them, by rules over the body and the entity results.

Which quotation marks hold a quote (and not a title or a name):
    a fragment that starts in lower case and has two words or more («несмотря на
    нюансы»); or a capitalised one that is attributed («…», — сказал X / "…," said X),
    follows a colon (заявил: «…»), or stands as a sentence of its own. «Авангард»,
    баннер «Омск — хоккейный город», так называемые «аласы в миниатюре» are not quotes.
    A quote interrupted by its attribution («…, — сказала Семенова. — …») gives two.

    A quotation over several paragraphs (left open at a paragraph's end and reopened by the
    same mark, or opening its paragraph and closed in the next) is one quote.

Who said it, in this order:
    1. the attribution next to it: the clause after it (— сказал X / , said X), or the
       sentence before it (X заявил: «…» / по словам X, «…» / according to X, "…" /
       X отметил, что … «…»): a person named there is the speaker. A short name in
       quotation marks inside the attribution is an outlet, not the end of the clause
       (— рассказал «Известиям» руководитель … Иван Иванов → Иван Иванов);
    2. an organisation speaking as such: «…», — говорится в сообщении ведомства /
       сообщили в пресс-службе … / В «Сахалинэнерго» сообщили: «…» / Severnside Water
       said in a statement: "…" — but not "a spokesman for X said" (a person of X);
    3. an unnamed speaker stays null, with the role the text gives it (— считает эксперт →
       "эксперт", a source close to the company): один из водителей, собеседник в одной
       из компаний, представитель компании, пишут одни, a fisherman, officials, and any
       plural verb;
    4. a pronoun or a descriptor (— добавил он / — считает эксперт / — сказала
       дипломат / she said): the person in focus, i.e. the last person the text made a
       subject (or "по словам X") in this paragraph or the one before, of a compatible
       grammatical gender, unless a sentence in between brings in a new group of speakers
       ("Аналитики указывают…", "Specialists say…"): then null;
    5. no attribution at all: the speaker of the quote right before it (a quote that goes
       on in the next sentence or paragraph), the subject of the previous sentence
       (Директор Павел Гринев прокомментировал решение. «…») or the one person it
       introduces with a role; for a quote standing as its own paragraph, the person the
       last sentence of the paragraph before presents as speaking (Глава ассоциации Иван
       Иванов напомнил, что … / Jane Doe, head of research at X, said the timing looked
       favourable.); else null.
Nobody is ever guessed beyond that: a quote nobody is stated to have said has speaker null.

Roles come from the apposition at a mention of the speaker («пресс-секретарь президента РФ
Дмитрий Песков», «по словам мэра Новосибирска Виктора Лапшина» → "мэр Новосибирска",
"X, the minister of Y", "race director Michelle Harlan").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from schemas.common import Quote
from services.enrichment.entities import LOC, ORG, PER, Analysis, EntityMention, EntityResult
from services.enrichment.text import QuoteMarks, Tok, find_quotes, inside, normalize_phrase, paragraphs, sentences

if TYPE_CHECKING:
    from services.enrichment.lemmas import Lemmatizer

RU_SPEECH = re.compile(
    r"\b(?:сказа|заяв|отмет|отмеча|подчерк|добав|поясн|рассказ|сообщ|уточн|счита|полага|призна|замет|замеча|объясн|"
    r"ответи|отвеча|ответил|напомн|напомина|пообеща|обеща|предупред|предупрежда|указыва|говор|цитир|процитир|выраз|"
    r"выража|делил|подели|пиш|писал|написа|завер|призва|призыва|подытож|резюмир|констатир|убежд|уверен|уверя|"
    r"прокомментир|комментир|возраз|парир|настаива|утвержда|допуст|оцени|сету|посетова|жалу|рассужда|спроси|"
    r"спрашива|заключи|продолжи|высказа|удивля|признаё)\w*",
    re.IGNORECASE,
)
EN_SPEECH = re.compile(
    r"\b(?:said|says|say|told|tells|added|adds|wrote|writes|stated|states|explained|explains|noted|notes|argued|"
    r"argues|warned|warns|insisted|insists|claimed|claims|asked|asks|replied|replies|acknowledged|admitted|admits|"
    r"announced|continued|recalled|commented|suggested|declared|concluded|remarked|emphasi[sz]ed|stressed|conceded|"
    r"maintained|urged|cautioned|predicted|according to)\b",
    re.IGNORECASE,
)
_RU_ACCORDING = re.compile(r"\bпо (?:его |ее |её |их )?(?:словам|мнению|оценке|версии)\b[^.!?;:«»]{0,100}$", re.IGNORECASE)
_EN_ACCORDING = re.compile(r"\baccording to\b[^.!?;:\"“”]{0,100}$", re.IGNORECASE)
_RU_ANONYMOUS = re.compile(
    r"\b(?:одн[аоиуй]\w* из|один из|одного из|одни|другие|некоторые|многие|источник\w*|собеседни\w* в\b|"
    r"представител\w*|очевид\w*|жител\w*|пассажир\w*|пенсионер\w*|водител\w*|гост[ьия]\w*|участник\w*|"
    r"пользовател\w*|читател\w*|зрител\w*|горожан\w*|аноним\w*|пожелавш\w*|эксперты|аналитики|специалисты)\b",
    re.IGNORECASE,
)
_EN_ANONYMOUS = re.compile(
    r"^\W*(?:a|an|one|some|several|many|other|another)\b|\b(?:one of|sources?|officials|residents|people|witnesses|"
    r"analysts|experts|critics)\b",
    re.IGNORECASE,
)
_RU_ORG_SPEAKS = re.compile(
    r"(?:говорится|сообщается|отмечается|подчеркивается|указывается) в (?:сообщении|заявлении|пресс-релизе|релизе|"
    r"документе|ответе|публикации|телеграм)|\b[а-яё]+ли в (?:пресс-службе|ведомстве|министерстве|правительстве|"
    r"администрации|компании|мэрии|управлении|департаменте|комитете|аппарате|издательстве|театре|музее|клубе|банке|"
    r"фонде|университете|вузе|школе|больнице|полиции|прокуратуре|суде|штабе|профсоюзе|ассоциации|объединении|"
    r"концерне|холдинге|корпорации|агентстве|службе|учреждении|организации|партии|редакции|министерстве|думе|"
    r"правлении|совете|союзе|федерации|центре|институте|заповеднике|парке|компании-\w+)",
    re.IGNORECASE,
)
# «В «Сахалинэнерго» сообщили», «сообщили в ГУ МЧС»: an organisation named right after в/во
_RU_IN_ORG = re.compile(r"(?:^|[\s(])[Вв]о?\s+(?:пресс-служб\w+\s+|\w+\s+)?[«\"]?$")
# "a spokesman for X", "a source close to X": a person of the organisation, not the organisation
_EN_MEMBER_OF = re.compile(
    r"\b(?:spokes(?:man|woman|person)|representative|source|official|member|employee|worker|manager|director|"
    r"lawyer|adviser|advisor|insider)s?\s+(?:(?:close\s+)?(?:to|for|at|of|from|with|within|inside)\s+)(?:the\s+)?$",
    re.IGNORECASE,
)
# How far back a statement quoted across paragraphs looks for the organisation that made it.
_ORG_LOOKBACK = 3
_EN_ORG_NOUNS = {"council", "company", "ministry", "department", "agency", "union", "group", "government", "board",
                 "authority", "commission", "committee", "office", "firm", "bank", "club", "party", "association",
                 "corporation", "service", "operator", "charity", "trust", "university", "police", "court"}
# «В министерстве культуры региона заявили», «в пресс-службе перевозчика добавили»
_RU_IN_ORG_SPEAKING = re.compile(
    r"(?:^|(?<=[\s(]))[Вв]о?\s+(?P<org>(?:министерств|ведомств|администраци|правительств|мэри|управлени|департамент|"
    r"комитет|пресс-служб|компани|пресс-центр|аппарат|прокуратур|полици|профсоюз|штаб)\w*(?:\s+[а-яё-]+){0,3}?)"
    r"\s+(?:заявили|сообщили|ответили|пояснили|рассказали|уточнили|отметили|подчеркнули|добавили|пообещали|"
    r"объяснили|напомнили|прокомментировали)\b")
_PRONOUN_GENDER = {"он": "Masc", "она": "Fem", "he": "Masc", "she": "Fem"}
_NOT_A_QUOTE_BEFORE = re.compile(
    r"(?:так называем\w*|под названием|под лозунгом|с надписью|so-called|dubbed|titled|entitled|named|called)\s*$",
    re.IGNORECASE,
)
_INTERRUPTION = re.compile(r"([,!?…])\s+[—–]\s+(?P<attr>[^«»—–\n]{2,160}?)[.,]\s+[—–]\s+")
_EN_ROLE_AFTER = re.compile(r"^,\s+(?:(?:the|a|an|its|his|her|their)\s+)?(?P<role>[^,.;:\"“”()]{2,120}?)\s*(?:,|\.|;|$)")
_EN_TITLES = {"minister", "secretary", "president", "chairman", "chairwoman", "chair", "director", "chief", "ceo",
              "commissioner", "governor", "mayor", "senator", "judge", "spokesperson", "spokesman", "spokeswoman"}
_EN_DETERMINERS = re.compile(r"^(?:its|his|her|their|the|a|an)\s+", re.IGNORECASE)


@dataclass
class _Candidate:
    text_start: int
    text_end: int
    marks: QuoteMarks
    paragraph: int
    sentence: tuple[int, int]
    attribution: tuple[int, int] | None  # absolute span of the clause that says who spoke
    attribution_kind: str | None  # "after" | "before" | "inner"
    speaker: str | None = None
    speaker_type: str | None = None
    speaker_mention: EntityMention | None = None


@dataclass
class _Focus:
    position: int
    paragraph: int
    name: str
    mention: EntityMention | None


class QuoteExtractor:
    """Quotes of one article body; see the module doc for the rules."""

    def __init__(self, body: str, language: str | None, analysis: Analysis | None, entities: EntityResult,
                 lemmatizer: Lemmatizer) -> None:
        self.body = body
        self.ru = language == "ru"
        self.language = language
        self.tokens: list[Tok] = analysis.tokens if analysis is not None else []
        self.entities = entities
        self.lemmatizer = lemmatizer
        self.marks = find_quotes(body)
        self.paragraphs = paragraphs(body)
        self.sentences: list[list[tuple[int, int]]] = [sentences(body, a, b, self.marks) for a, b in self.paragraphs]
        self.all_persons = entities.in_field("body", (PER,))
        self.persons = [m for m in self.all_persons if not inside(m.start, self.marks)]
        name_marks = [q for q in self.marks if self._is_name_in_marks(q)]
        self.organizations = [m for m in entities.in_field("body", (ORG,))
                              if not inside(m.start, self.marks) or inside(m.start, name_marks)]
        self.locations = entities.in_field("body", (LOC,))
        self.speech = RU_SPEECH if self.ru else EN_SPEECH
        self._token_at = {t.start: i for i, t in enumerate(self.tokens)}

    # ------------------------------------------------------------------ positions

    def _paragraph_of(self, pos: int) -> int:
        for i, (a, b) in enumerate(self.paragraphs):
            if a <= pos <= b:
                return i
        return max(0, len(self.paragraphs) - 1)

    def _sentence_of(self, pos: int) -> tuple[int, int]:
        for a, b in self.sentences[self._paragraph_of(pos)]:
            if a <= pos <= b:
                return a, b
        p = self.paragraphs[self._paragraph_of(pos)] if self.paragraphs else (0, len(self.body))
        return p

    # ------------------------------------------------------------------ finding quotes

    def _is_name_in_marks(self, other: QuoteMarks) -> bool:
        """«Известиям», «Иркутские электросети», "The Herald": a short capitalised name, not a quote."""
        inner = self.body[other.inner_start:other.inner_end].strip()
        first = next((c for c in inner if c.isalpha()), "")
        return bool(first) and first.isupper() and len(inner.split()) <= 4 and not re.search(r"[.!?,:;]", inner)

    def _attribution_after(self, marks: QuoteMarks, sentence: tuple[int, int]) -> tuple[int, int] | None:
        end = sentence[1]
        for other in self.marks:
            if other.start >= marks.end and other.start < end and not self._is_name_in_marks(other):
                end = other.start
                break
        after = self.body[marks.end:end]
        if self.ru:
            m = re.match(r"^\s*[,!?…]?\s*[—–-]\s+", after)
            if m and self.speech.search(after[m.end():m.end() + 160]):
                return marks.end + m.end(), end
            return None
        m = re.match(r"^\s*[,!?]?\s*", after)
        clause = after[m.end():] if m else after
        words = clause.split()
        if not words:
            return None
        opens_with_speaker = bool(re.match(r"(?:he|she|they|it)\b", clause, re.IGNORECASE)) or any(
            p.start == marks.end + (m.end() if m else 0) for p in self.persons + self.organizations)
        if self.speech.search(" ".join(words[:10])) or (opens_with_speaker and len(words) <= 30 and self.speech.search(clause)):
            return marks.end + (m.end() if m else 0), end
        return None

    def _attribution_before(self, marks: QuoteMarks, sentence: tuple[int, int]) -> tuple[int, int] | None:
        start = sentence[0]
        for other in self.marks:
            if sentence[0] <= other.end <= marks.start and not self._is_name_in_marks(other):
                start = max(start, other.end)
        before = self.body[start:marks.start]
        if not before.strip():
            return None
        stripped = before.rstrip()
        according = _RU_ACCORDING if self.ru else _EN_ACCORDING
        if self.speech.search(before) or stripped.endswith(":") or according.search(stripped.rstrip(",")):
            return start, marks.start
        return None

    def _is_quote(self, marks: QuoteMarks, sentence: tuple[int, int]) -> bool:
        inner = self.body[marks.inner_start:marks.inner_end].strip()
        if len(inner.split()) < 2:
            return False
        paragraph_start = self.paragraphs[self._paragraph_of(marks.start)][0]
        if _NOT_A_QUOTE_BEFORE.search(self.body[paragraph_start:marks.start]):
            return False
        first = next((c for c in inner if c.isalpha()), "")
        if not first:
            return False
        names = self.entities.in_field("body", (ORG, LOC, PER))
        if any(m.start <= marks.start < m.end or m.start < marks.end <= m.end for m in names):
            return False  # part of a name: МТК «Север — Юг», компания «Мостострой-Сибирь»
        if any(marks.inner_start <= m.start and m.end <= marks.inner_end and (m.end - m.start) >= 0.8 * len(inner)
               for m in names):
            return False  # a name in quotation marks: «Вестнику Дня»
        if first.islower():
            return True
        if self._attribution_after(marks, sentence):
            return True
        before = self.body[sentence[0]:marks.start]
        after = self.body[marks.end:sentence[1]].strip()
        if before.rstrip().endswith(":"):
            return True
        ends_sentence = re.fullmatch(r"[.!?…]*", after) is not None
        if ends_sentence and not before.strip():
            return True  # a sentence of its own
        if ends_sentence and (before.rstrip().endswith((",", ":"))
                              or self.speech.search(" ".join(before.split()[-3:]))):
            return True  # X said, "…". / сказал он «…».
        return False

    def candidates(self) -> list[_Candidate]:
        out: list[_Candidate] = []
        for marks in self.marks:
            sentence = self._sentence_of(marks.start)
            if marks.end > sentence[1]:  # a quotation over several paragraphs: up to the sentence it ends in
                sentence = (sentence[0], self._sentence_of(marks.end - 1)[1])
            if any(c.attribution_kind == "after" and c.attribution is not None
                   and c.attribution[0] <= marks.start < c.attribution[1] for c in out):
                continue  # inside another quote's attribution: — пояснил эксперт «Вестнику Дня»
            if not self._is_quote(marks, sentence):
                continue
            paragraph = self._paragraph_of(marks.start)
            after = self._attribution_after(marks, sentence)
            before = None if after else self._attribution_before(marks, sentence)
            attribution, kind = (after, "after") if after else ((before, "before") if before else (None, None))
            inner_start, inner_end = marks.inner_start, marks.inner_end
            pieces: list[tuple[int, int, tuple[int, int] | None]] = []
            cursor = inner_start
            if self.ru:
                for m in _INTERRUPTION.finditer(self.body, inner_start, inner_end):
                    if not self.speech.search(m.group("attr")):
                        continue
                    cut = m.start(1) if m.group(1) == "," else m.end(1)
                    pieces.append((cursor, cut, (m.start("attr"), m.end("attr"))))
                    cursor = m.end()
            if pieces:
                inner_attr = pieces[-1][2]
                pieces.append((cursor, inner_end, inner_attr))
                for a, b, span in pieces:
                    a, b = _trim(self.body, a, b)
                    if b > a:
                        out.append(_Candidate(a, b, marks, paragraph, sentence, span, "inner"))
                continue
            a, b = _trim(self.body, inner_start, inner_end)
            if b > a:
                out.append(_Candidate(a, b, marks, paragraph, sentence, attribution, kind))
        return out

    # ------------------------------------------------------------------ speakers

    def _mentions_in(self, mentions: list[EntityMention], span: tuple[int, int]) -> list[EntityMention]:
        return [m for m in mentions if span[0] <= m.start and m.end <= span[1]]

    def _eligible(self, m: EntityMention) -> bool:
        """Can this mention be what a later pronoun or descriptor refers to?"""
        if m.subject:
            return True
        before = self.body[max(0, m.start - 60):m.start]
        return bool(re.search(r"(?:по (?:словам|мнению|оценке)|according to)[^,.;:!?«»\"“”]*$", before, re.IGNORECASE))

    def _named_speaker(self, span: tuple[int, int], kind: str | None) -> EntityMention | None:
        persons = self._mentions_in(self.all_persons if kind == "inner" else self.persons, span)
        if not persons:
            return None
        if kind in ("after", "inner"):
            return persons[0]
        text = self.body[span[0]:span[1]]
        for m in persons:
            before = self.body[span[0]:m.start]
            if re.search(r"(?:по (?:словам|мнению|оценке)|according to)[^.;:!?«»\"“”]{0,100}$", before, re.IGNORECASE):
                return m
        subjects = [m for m in persons if m.subject]
        if subjects:
            return subjects[-1] if self.ru else subjects[0]
        if not self.ru and len(persons) == 1 and self.speech.search(text[persons[0].end - span[0]:]):
            return persons[0]
        return None

    def _organization_speaker(self, span: tuple[int, int], candidate: _Candidate) -> str | None:
        text = self.body[span[0]:span[1]]
        orgs = self._mentions_in(self.organizations, span)
        if self.ru:
            if not _RU_ORG_SPEAKS.search(text):
                in_org = [m for m in orgs if _RU_IN_ORG.search(self.body[max(0, m.start - 30):m.start])]
                return in_org[0].name if in_org and self._plural_verb(span) else None
            if orgs:
                return orgs[0].name
            # «…», — говорится в заявлении компании: the organisation that spoke last, up to
            # three paragraphs back (a statement quoted across paragraphs), as the text names
            # it: «В министерстве культуры региона заявили, что …» → "министерство культуры региона".
            paragraph = candidate.paragraph
            lo = self.paragraphs[max(0, paragraph - _ORG_LOOKBACK)][0]
            earlier = [m for m in self.organizations if lo <= m.start < candidate.marks.start]
            located = [m for m in earlier if re.search(r"\b[Вв]о?\s+«?$", self.body[max(0, m.start - 4):m.start])]
            named = self._org_named_speaking(lo, candidate.marks.start)
            # «в пресс-службе перевозчика» is the press office of the company named before it;
            # «в министерстве культуры региона» names an institution of its own.
            if named is not None and not (named[1].startswith("пресс-") and (located or earlier)) \
                    and not any(m.start >= named[0] for m in located or earlier):
                return named[1]
            pick = (located or earlier)
            return pick[-1].name if pick else None
        for m in orgs:
            if _EN_MEMBER_OF.search(self.body[max(0, m.start - 60):m.start]):
                continue
            tail = text[m.end - span[0]:].split()
            head = text[:m.start - span[0]].split()
            if (tail and self.speech.match(" ".join(tail[:2]))) or (head and self.speech.match(head[-1])):
                return m.name
        noun = self._org_noun(span)
        if noun is not None:
            # "…," the council said: the organisation named earlier whose name has that noun.
            lo = self.paragraphs[max(0, candidate.paragraph - _ORG_LOOKBACK)][0]
            earlier = [m for m in self.organizations if lo <= m.start < candidate.marks.start
                       and noun in m.name.lower().split()]
            if earlier:
                return earlier[-1].name
        return None

    def _org_noun(self, span: tuple[int, int]) -> str | None:
        """The organisation noun an attribution names as the speaker: «говорится в сообщении
        ведомства», "the council said", "said the company" → "ведомство"/"council"/"company"."""
        text = self.body[span[0]:span[1]].strip(" ,.")
        if self.ru:
            return "ведомство" if _RU_ORG_SPEAKS.search(text) else None
        m = re.match(r"^(?:the|its)\s+(\w+)\s+(?:\w+\s+)?(?:said|says|added|stated|warned|confirmed)\b", text, re.IGNORECASE) \
            or re.search(r"\b(?:said|says|added|stated)\s+the\s+(\w+)$", text, re.IGNORECASE)
        if m is None or m.group(1).lower() not in _EN_ORG_NOUNS:
            return None
        return m.group(1).lower()

    def _org_named_speaking(self, lo: int, hi: int) -> tuple[int, str] | None:
        """The last «В <organisation> заявили/сообщили …» between `lo` and `hi` that names the
        organisation in lower case (no entity for it): its position and its name in the
        nominative («министерстве культуры региона» → «министерство культуры региона»)."""
        found = None
        for m in _RU_IN_ORG_SPEAKING.finditer(self.body, lo, hi):
            if inside(m.start(), self.marks):
                continue
            words = m.group("org").split()
            head = self.lemmatizer.lemma(words[0], "ru")
            found = (m.start(), " ".join([head] + words[1:]))
        return found

    def _verb_gender(self, span: tuple[int, int]) -> str | None:
        text = self.body[span[0]:span[1]].lower()
        for word in re.findall(r"\w+", text):
            if word in _PRONOUN_GENDER:
                return _PRONOUN_GENDER[word]
        if not self.ru:
            return None
        for tok in self.tokens:
            if span[0] <= tok.start < span[1] and tok.pos == "VERB" and tok.feats.get("Gender"):
                return tok.feats["Gender"]
        return None

    def _plural_verb(self, span: tuple[int, int]) -> bool:
        if self.ru:
            for tok in self.tokens:
                if span[0] <= tok.start < span[1] and tok.pos in ("VERB", "AUX") and tok.feats.get("Number") == "Plur" \
                        and not inside(tok.start, self.marks) and tok.feats.get("VerbForm") != "Part":
                    if self.speech.match(tok.text) or tok.feats.get("VerbForm") == "Fin":
                        return True
            return False
        words = self.body[span[0]:span[1]].lower().split()
        return bool(words) and words[0].strip(",") in ("they", "we")

    def _anonymous(self, span: tuple[int, int]) -> bool:
        text = self.body[span[0]:span[1]]
        return bool((_RU_ANONYMOUS if self.ru else _EN_ANONYMOUS).search(text.strip(" ,—–-")))

    def _breaks(self, start: int, end: int) -> bool:
        """Does a sentence between `start` and `end` bring in a new, unnamed group of speakers?"""
        for p in range(self._paragraph_of(start), self._paragraph_of(end) + 1):
            for a, b in self.sentences[p]:
                if a < start or b > end:
                    continue
                if self._mentions_in(self.persons, (a, b)):
                    continue
                if inside(a, self.marks) and inside(b - 1, self.marks):
                    continue
                if self._group_subject(a, b):
                    return True
        return False

    def _group_subject(self, a: int, b: int) -> bool:
        """A sentence whose subject is a group of people: "Аналитики указывают…", "Residents say…"."""
        for tok in self.tokens:
            if not a <= tok.start < b or inside(tok.start, self.marks) or tok.pos != "NOUN":
                continue
            if tok.feats.get("Number") != "Plur":
                continue
            if self.ru and tok.feats.get("Case") == "Nom" and tok.feats.get("Animacy") == "Anim":
                return True
            if not self.ru and tok.dep in ("nsubj", "nsubjpass"):
                return True
        return False

    def _focus(self, candidate: _Candidate, gender: str | None, events: list[_Focus]) -> _Focus | None:
        lowest = candidate.paragraph - 1
        for event in reversed(events):
            if event.position >= candidate.marks.start:
                continue
            if event.paragraph < lowest:
                return None
            if self._breaks(event.position, candidate.marks.start):
                return None
            if gender and self.entities.genders.get(event.name) not in (None, gender):
                continue
            return event
        return None

    def resolve(self) -> list[Quote]:
        candidates = self.candidates()
        events: list[_Focus] = [
            _Focus(m.start, self._paragraph_of(m.start), m.name, m) for m in self.persons if self._eligible(m)
        ]
        events.sort(key=lambda e: e.position)
        previous: _Candidate | None = None
        for c in candidates:
            self._resolve_one(c, previous, events)
            if c.speaker and c.speaker_type == PER:
                events.append(_Focus(c.marks.start, c.paragraph, c.speaker, c.speaker_mention))
                events.sort(key=lambda e: e.position)
            previous = c
        return [
            Quote(
                text=_joined(self.body[c.text_start:c.text_end]), speaker=c.speaker,
                speaker_role=self.role_of(c.speaker) if c.speaker and c.speaker_type == PER
                else self._unnamed_role(c) if c.speaker is None else None,
                start=c.text_start, end=c.text_end,
            )
            for c in candidates
        ]

    # ------------------------------------------------------------------ unnamed speakers

    def _unnamed_role(self, c: _Candidate) -> str | None:
        """What the text calls a speaker it does not name: «— считает эксперт» → "эксперт",
        «— рассказал «Интерфаксу» источник в ведомстве» → "источник в ведомстве", "a source
        close to the company said" → "source close to the company". None for a pronoun or a
        group («один из водителей», «пишут одни», "one of them")."""
        if c.attribution is None:
            return None
        a, b = c.attribution
        text = self.body[a:b]
        speech = self.speech.search(text)
        if speech is None:
            return None
        if self.ru:
            according = re.search(r"\bпо (?:его |ее |её |их )?(?:словам|мнению|оценке|данным)\s+(.+)$", text, re.IGNORECASE)
            if according:
                words = according.group(1).strip(" ,").split()
                if not words:
                    return None
                phrase = " ".join([self.lemmatizer.lemma(words[0], "ru")] + words[1:])
            elif c.attribution_kind in ("after", "inner"):
                phrase = text[speech.end():]
            else:
                phrase = text[:speech.start()]
            phrase = re.sub(r"^\s*(?:[«\"][^»\"]{1,60}[»\"]|[А-ЯЁA-Z]{2,}(?:\s+[А-ЯЁ][а-яё]+)?)\s+", " ", phrase)
            phrase = re.split(r"[,.;:!?—–«»]|\s(?:в ходе|во время|на (?:брифинге|совещании|заседании|пресс-конференции)|"
                             r"журналистам|корреспонденту)\b", phrase)[0].strip()
            words = phrase.split()
            if not words or len(words) > 8 or _RU_GROUP_HEAD.match(words[0]):
                return None
            head = next((t for t in self.tokens if a <= t.start < b and t.text == words[0]), None)
            if head is not None and (head.pos not in ("NOUN", "ADJ") or head.feats.get("Number") == "Plur"
                                     or (not according and head.feats.get("Case") not in (None, "Nom"))):
                return None  # not a noun phrase naming one speaker («делились впечатлениями гости»)
            return phrase[0].lower() + phrase[1:] if not phrase[:2].isupper() else phrase
        if c.attribution_kind in ("after", "inner") and text[:speech.start()].strip(" ,") == "":
            phrase = text[speech.end():]
        else:
            phrase = text[:speech.start()]
        phrase = re.split(r"[,.;:!?\"“”]|\s(?:in a statement|on \w+day|at a |told\b)", phrase.strip(" ,"))[-1 if c.attribution_kind == "before" else 0]
        phrase = re.sub(r"^(?:the|a|an|one|another)\s+", "", phrase.strip(), flags=re.IGNORECASE)
        words = phrase.split()
        if not words or len(words) > 10 or _EN_GROUP_HEAD.match(words[0]) or words[0][0].isupper():
            return None
        fuller = re.search(rf"\b(?:a|an|one)\s+({re.escape(phrase)}\s+(?:for|at|of|from|with|close to|in)\s+[^,.;:\"“”]+?)"
                           rf"(?=\s+(?:said|says|told|added|confirmed|explained|warned)\b)",
                           self.body[self.paragraphs[max(0, c.paragraph - 1)][0]:c.marks.start], re.IGNORECASE)
        return fuller.group(1) if fuller and len(words) <= 2 else phrase

    def _resolve_one(self, c: _Candidate, previous: _Candidate | None, events: list[_Focus]) -> None:
        if c.attribution is not None:
            named = self._named_speaker(c.attribution, c.attribution_kind)
            if named is not None:
                c.speaker, c.speaker_type, c.speaker_mention = named.name, PER, named
                return
            org = self._organization_speaker(c.attribution, c)
            if org:
                c.speaker, c.speaker_type = org, ORG
                return
            if self._anonymous(c.attribution) or self._plural_verb(c.attribution):
                return
            if self._org_noun(c.attribution) is not None:
                return  # an organisation speaks, and it is not named: not a person in focus
            attribution = self.body[c.attribution[0]:c.attribution[1]]
            pronoun = re.search(r"\b(?:его|ее|её|он|она|his|her|he|she)\b", attribution, re.IGNORECASE)
            if c.attribution_kind == "before" and not self.speech.search(attribution) and not pronoun:
                return  # only a colon, without a name or a pronoun: nothing to refer to
            focus = self._focus(c, self._verb_gender(c.attribution), events)
            if focus is not None:
                c.speaker, c.speaker_type, c.speaker_mention = focus.name, PER, focus.mention
                return
            described = self._described(c.attribution)
            if described is not None:
                c.speaker, c.speaker_type, c.speaker_mention = described, PER, None
            return
        # No attribution: a quote that goes on from the previous one, or whose speaker the
        # previous sentence names.
        sentence_starts = [a for a, _ in self.sentences[c.paragraph]]
        index = next((i for i, a in enumerate(sentence_starts) if a == c.sentence[0]), None)
        if previous is not None and previous.paragraph == c.paragraph and index is not None:
            prev_index = next((i for i, a in enumerate(sentence_starts) if a == previous.sentence[0]), None)
            if prev_index is not None and index - prev_index in (0, 1):
                c.speaker, c.speaker_type, c.speaker_mention = previous.speaker, previous.speaker_type, previous.speaker_mention
                return
        standalone = not self.body[c.sentence[0]:c.marks.start].strip()
        if standalone and index:
            prev_sentence = self.sentences[c.paragraph][index - 1]
            named = self._mentions_in(self.persons, prev_sentence)
            subjects = [m for m in named if self._eligible(m)]
            if not subjects and len({m.name for m in named}) == 1 and self._introduces(prev_sentence, named[0]):
                subjects = named  # "The plan was championed by trustee Alicia Moreno, who chairs …"
            if subjects:
                c.speaker, c.speaker_type, c.speaker_mention = subjects[0].name, PER, subjects[0]
            return
        if standalone and index == 0 and c.paragraph > 0:
            self._from_previous_paragraph(c, previous, events)

    def _introduces(self, sentence: tuple[int, int], person: EntityMention) -> bool:
        """The sentence presents the person with a role: an apposition or a title next to the name."""
        return self.role_of(person.name) is not None or bool(
            re.match(r"\s*,", self.body[person.end:sentence[1]]))

    def _from_previous_paragraph(self, c: _Candidate, previous: _Candidate | None, events: list[_Focus]) -> None:
        """A quotation standing as its own paragraph, without attribution: the speaker the
        paragraph before introduces («Глава ассоциации Иван Иванов напомнил, что …»; "Jane
        Doe, head of research at X, said the timing looked favourable.") or whose quote it
        continues."""
        before = c.paragraph - 1
        if previous is not None and previous.paragraph == before and previous.speaker:
            # The paragraph before ends with a quote (and maybe its attribution): this one goes on.
            end = previous.attribution[1] if previous.attribution_kind == "after" and previous.attribution else previous.marks.end
            if not self.body[end:self.paragraphs[before][1]].strip(" .,;:—–-\n"):
                c.speaker, c.speaker_type, c.speaker_mention = previous.speaker, previous.speaker_type, previous.speaker_mention
                return
        last = self.sentences[before][-1] if self.sentences[before] else None
        if last is None or inside(last[0], self.marks):
            return
        text = self.body[last[0]:last[1]]
        if not (self.speech.search(text) or text.rstrip().endswith(":")):
            return
        named = self._mentions_in(self.persons, last)
        subjects = [m for m in named if self._eligible(m)] or (named if len({m.name for m in named}) == 1 else [])
        if subjects:
            pick = subjects[0]
            c.speaker, c.speaker_type, c.speaker_mention = pick.name, PER, pick
            return
        if re.search(r"\b(?:он|она|he|she)\b", text, re.IGNORECASE):
            focus = self._focus(c, self._verb_gender(last), events)
            if focus is not None:
                c.speaker, c.speaker_type, c.speaker_mention = focus.name, PER, focus.mention

    def _described(self, span: tuple[int, int]) -> str | None:
        """The one person of the article whose role has the attribution's noun: "— отметил
        российский вице-премьер" when only Оверчук is "вице-премьер РФ"."""
        nouns = {self.lemmatizer.lemma(t.text, self.language) for t in self.tokens
                 if span[0] <= t.start < span[1] and t.pos == "NOUN"}
        if not nouns:
            return None
        found = set()
        for name in {m.name for m in self.persons}:
            role = self.role_of(name)
            if role and nouns & {self.lemmatizer.lemma(w, self.language) for w in re.findall(r"[\w-]+", role)}:
                found.add(name)
        return next(iter(found)) if len(found) == 1 else None

    # ------------------------------------------------------------------ roles

    def role_of(self, name: str) -> str | None:
        for m in self.persons:
            if m.name != name:
                continue
            role = self._role_ru(m) if self.ru else self._role_en(m)
            if role:
                return role
        return None

    def _role_ru(self, m: EntityMention) -> str | None:
        index = self._token_at.get(m.start)
        if index is None:
            return None
        collected: list[Tok] = []
        j = index - 1
        while j >= 0 and len(collected) < 16:
            tok = self.tokens[j]
            if tok.end <= m.start - 3 and "\n" in self.body[tok.end:m.start]:
                break
            if tok.pos == "PUNCT" and tok.text not in "«»„“\"":
                break
            if tok.pos == "CCONJ" and j > 0 and any(p.start <= self.tokens[j - 1].start < p.end for p in self.all_persons):
                break  # «вице-премьер РФ Алексей Оверчук и заместитель премьер-министра … Шахин Мустафаев»
            if tok.pos == "VERB" and tok.feats.get("VerbForm") == "Part":
                pass  # participles are adjectives here: «правящей партии»
            elif tok.pos in ("VERB", "AUX", "PRON", "DET", "NUM", "ADV", "SCONJ", "PART"):
                break
            collected.append(tok)
            j -= 1
        collected.reverse()
        case = m.case or "Nom"
        start = None
        for k, tok in enumerate(collected):
            if tok.pos in ("NOUN", "ADJ") and tok.feats.get("Case") == case:
                start = k
                break
        if start is None:
            return None
        phrase = collected[start:]
        while phrase and phrase[-1].pos in ("ADP", "CCONJ"):
            phrase.pop()
        head = next((t for t in phrase if t.pos == "NOUN"), None)
        if head is None or head.feats.get("Number") == "Plur":
            return None  # «президентов России и Азербайджана Владимира Путина и Ильхама Алиева»
        role = normalize_phrase(phrase, self.lemmatizer) if case != "Nom" else self.body[phrase[0].start:phrase[-1].end]
        role = " ".join(role.split())
        if phrase[0].pos != "PROPN" and role[:1].isupper() and not role[:2].isupper():
            role = role[0].lower() + role[1:]
        return role or None

    def _role_en(self, m: EntityMention) -> str | None:
        after = self.body[m.end:m.end + 160]
        match = _EN_ROLE_AFTER.match(after)
        appositive = match is not None and any(
            t.dep == "appos" and m.end + match.start("role") <= t.start < m.end + match.end("role") for t in self.tokens)
        if match and appositive:
            role = match.group("role").strip()
            first = role.split()[0].lower() if role.split() else ""
            if first not in ("who", "which", "that", "whose", "when", "where", "said", "says", "told") \
                    and not first.endswith("ing") and not EN_SPEECH.match(role) and re.search(r"\b[a-z]", role):
                return role
        index = self._token_at.get(m.start)
        if index is not None:
            collected: list[Tok] = []
            j = index - 1
            while j >= 0 and len(collected) < 6:
                tok = self.tokens[j]
                if tok.pos not in ("NOUN", "PROPN", "ADJ") or any(p.start <= tok.start < p.end for p in self.persons):
                    break
                collected.append(tok)
                j -= 1
            collected.reverse()
            if collected and any(t.pos in ("NOUN", "ADJ") or t.text[0].islower() or t.text.lower() in _EN_TITLES
                                 for t in collected):
                return self.body[collected[0].start:collected[-1].end]
        prefix = self.body[max(0, m.start - 120):m.start].rstrip()
        if prefix.endswith(","):
            chunk = re.split(r"[\"“”.:,]|\baccording to\b", prefix[:-1], flags=re.IGNORECASE)[-1].strip()
            chunk = _EN_DETERMINERS.sub("", chunk)
            words = chunk.split()
            appositive = any(t.dep == "appos" for t in self.tokens if m.start <= t.start < m.end)
            if appositive and 1 <= len(words) <= 6 and not EN_SPEECH.search(chunk) and re.search(r"\b[a-z]", chunk):
                return chunk
        return None


_RU_GROUP_HEAD = re.compile(r"^(?:од(?:ин|на|но|ни|ного|ной)|други\w*|некотор\w*|многи\w*|кто-то|он|она|они|его|ее|её|их|"
                            r"сам\w*|эт\w+|те|тот|та)$", re.IGNORECASE)
_EN_GROUP_HEAD = re.compile(r"^(?:he|she|they|it|we|i|you|some|many|others?|several|both|all|who|which|that|of)$", re.IGNORECASE)


def _joined(text: str) -> str:
    """A quotation over several paragraphs, without the marks that reopen each paragraph."""
    return re.sub(r"\n(\s*)[«“„\"]", r"\n\1", text) if "\n" in text else text


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and (text[b - 1].isspace() or text[b - 1] in ",;:"):
        b -= 1
    return a, b


def extract_quotes(body: str, language: str | None, analysis: Analysis | None, entities: EntityResult,
                   lemmatizer: Lemmatizer) -> list[Quote]:
    """Every direct quote of `body`, with its speaker (or null) and the speaker's role."""
    return QuoteExtractor(body, language, analysis, entities, lemmatizer).resolve()
