"""Text helpers shared by the enrichment steps: quotation marks, paragraphs, sentences, tokens,
and the nominative of a Russian noun phrase (`normalize_phrase`, used by entities and quotes).

Offsets are character offsets into the string given, so every step can point back into
the article's `body` (and `Quote.start`/`Mention.start` mean the same thing everywhere).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.enrichment.lemmas import Lemmatizer

# Opening mark → closing marks. „…“ is the inner Russian pair (also used alone), “…” the
# English one; straight double quotes are paired by position.
_PAIRS = {"«": "»", "„": "“”", "“": "”", '"': '"'}
_ABBREVIATIONS = {
    "г", "гг", "т", "д", "им", "ул", "пр", "просп", "пос", "обл", "руб", "млн", "млрд", "тыс", "см", "стр", "ст",
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "gen", "gov", "sen", "rep", "no", "vs", "etc", "inc", "ltd",
    "co", "corp", "u.s", "u.k", "e.g", "i.e", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec",
}
_CREDIT_PATTERNS = (
    # "Фото: Рауф Гасымов/Вестник Дня", "Photo: Reuters" up to the end of the line.
    re.compile(r"(?:(?<=\s)|^)(?:Фото|Фотография|Иллюстрация|Источник фото|Photo|Photograph|Image|Picture|Credit)\s*:\s*[^\n]*",
               re.IGNORECASE),
    # "Григорий Сысоев/POOL/ТАСС", "Shutterstock/FOTODOM": agency credits joined by slashes.
    re.compile(r"\b[A-ZА-ЯЁ][\w.\-]*(?: [A-ZА-ЯЁ][\w.\-]*)?(?:/[A-ZА-ЯЁ][\w.\-]*)+"),
)


@dataclass(frozen=True)
class QuoteMarks:
    """One outermost quotation: `start`/`end` include the marks, `inner_*` do not."""

    start: int
    end: int
    open_mark: str

    @property
    def inner_start(self) -> int:
        return self.start + 1

    @property
    def inner_end(self) -> int:
        return self.end - 1


def mask_credits(text: str) -> str:
    """Blank out photo credits ("Фото: …", "Name/AGENCY") keeping every offset unchanged."""
    for pattern in _CREDIT_PATTERNS:
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return text


def _is_straight_opening(text: str, i: int) -> bool:
    before = text[i - 1] if i > 0 else "\n"
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in "([{—–-:/") and not after.isspace()


def _is_straight_closing(text: str, i: int) -> bool:
    after = text[i + 1] if i + 1 < len(text) else " "
    before = text[i - 1] if i > 0 else " "
    return not before.isspace() and (after.isspace() or not after.isalnum())


def _reopens(text: str, j: int, mark: str, reopened_only: bool = False) -> int | None:
    """At a paragraph break `j`: where the quotation goes on in the next paragraph, else None.

    The typographic convention for a quotation over several paragraphs: each paragraph
    opens with the mark and only the last one closes (→ the index after the reopening
    mark). Without the reopening mark, the quotation goes on when the next paragraph
    closes it before opening anything (→ the start of that paragraph).
    """
    k = j
    while k < len(text) and text[k].isspace():
        k += 1
    if k < len(text) and text[k] == mark:
        return k + 1
    if reopened_only:
        return None
    line_end = text.find("\n", k)
    line = text[k:line_end if line_end != -1 else len(text)]
    closers = _PAIRS[mark]
    close = min((line.find(c) for c in closers if c in line and (mark != '"' or c != mark)), default=-1)
    if mark == '"':
        close = next((m.start() for m in re.finditer('"', line) if _is_straight_closing(line, m.start())), -1)
    opened = line.find(mark) if mark != '"' else -1
    if close != -1 and (opened == -1 or close < opened):
        return k
    return None


def _opens_paragraph(text: str, i: int) -> bool:
    line_start = text.rfind("\n", 0, i) + 1
    return not text[line_start:i].strip()


def find_quotes(text: str) -> list[QuoteMarks]:
    """Outermost quotations of `text`, in order; nested marks stay part of the quote.

    A quotation never spans a blank line, except one left open at the end of its
    paragraph and reopened by the same mark at the start of the next («Первый абзац…
    \n\n«Второй…»), or one that opens its paragraph and is closed in the next: that is one
    quotation over several paragraphs. Any other unclosed mark is ignored.
    """
    spans: list[QuoteMarks] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch not in _PAIRS or (ch == '"' and not _is_straight_opening(text, i)):
            i += 1
            continue
        closers = _PAIRS[ch]
        depth, j, end = 1, i + 1, None
        while j < n:
            c = text[j]
            if c == "\n" and text[j:j + 2] == "\n\n":
                resumed = _reopens(text, j, ch, reopened_only=not _opens_paragraph(text, i)) if depth == 1 else None
                if resumed is None:
                    break
                j = resumed
                continue
            if ch == "«" and c == "«":
                depth += 1
            elif c in closers and (ch != '"' or _is_straight_closing(text, j)):
                depth -= 1
                if depth == 0:
                    end = j + 1
                    break
            j += 1
        if end is None:
            i += 1
            continue
        spans.append(QuoteMarks(i, end, ch))
        i = end
    return spans


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph: blocks separated by blank lines (or single newlines)."""
    out = []
    for m in re.finditer(r"[^\n]+", text):
        if m.group().strip():
            out.append((m.start(), m.end()))
    return out


def inside(pos: int, spans: list[QuoteMarks]) -> bool:
    return any(s.start <= pos < s.end for s in spans)


def sentences(text: str, start: int, end: int, quotes: list[QuoteMarks]) -> list[tuple[int, int]]:
    """Sentences of text[start:end]; a quotation is never split, whatever it contains."""
    bounds = [start]
    for m in re.finditer(r"[.!?…]+[»”\"“)]*\s+(?=[«„“\"A-ZА-ЯЁ0-9—–])", text[start:end]):
        cut = start + m.end()
        dot = start + m.start()
        if inside(dot, quotes):
            continue
        word = re.search(r"([\w.]+)$", text[start:dot])
        if m.group().startswith(".") and word:
            w = word.group(1).lower()
            if w in _ABBREVIATIONS or (len(w) == 1 and w.isalpha()):
                continue
        bounds.append(cut)
    bounds.append(end)
    out = []
    for a, b in zip(bounds, bounds[1:]):
        stripped_end = b
        while stripped_end > a and text[stripped_end - 1].isspace():
            stripped_end -= 1
        if stripped_end > a:
            out.append((a, stripped_end))
    return out


@dataclass(frozen=True)
class Tok:
    """One token of an analysed text, language-neutral."""

    text: str
    start: int
    end: int
    pos: str
    feats: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    dep: str | None = None
    head_dep: str | None = None
    head_start: int | None = None


_UD_TO_PYMORPHY_CASE = {
    "Nom": {"nomn"}, "Gen": {"gent", "gen2"}, "Dat": {"datv"}, "Acc": {"accs"}, "Ins": {"ablt"},
    "Loc": {"loct", "loc2"}, "Voc": {"voct"},
}


def restore_case(original: str, inflected: str) -> str:
    if original.isupper() and len(original) > 1:
        return inflected.upper()
    parts, spelled = original.split("-"), inflected.split("-")
    if len(parts) == len(spelled) > 1:
        return "-".join(restore_case(o, i) for o, i in zip(parts, spelled))
    if original[:1].isupper():
        return inflected[:1].upper() + inflected[1:]
    return inflected


def choose_parse(lemmatizer: Lemmatizer, word: str, case: str | None, pos: set[str], place: bool = False) -> Any:
    wanted_cases = _UD_TO_PYMORPHY_CASE.get(case or "", set())
    parses = lemmatizer.parses(word.lower())
    if place:  # «Кстова» is Кстово (a town), not Кстов (a surname)
        parses = sorted(parses, key=lambda p: "Geox" not in p.tag.grammemes)
    for parse in parses:
        if parse.tag.POS in pos and (not wanted_cases or parse.tag.case in wanted_cases):
            return parse
    return None


def inflect_like(parse: Any, grammemes: set[str], original: str) -> str | None:
    """`parse` inflected to `grammemes`, choosing among variant forms the one closest to the
    word as written ("Высшей" → "Высшая", not the other superlative "высочайшая")."""
    forms = [f for f in parse.lexeme if grammemes <= set(f.tag.grammemes)]
    if not forms:
        inflected = parse.inflect(grammemes)
        return inflected.word if inflected is not None else None
    lower = original.lower()

    def shared(word: str) -> int:
        n = 0
        for a, b in zip(word, lower):
            if a != b:
                break
            n += 1
        return n

    return max(forms, key=lambda f: (shared(f.word), -abs(len(f.word) - len(lower)))).word


def normalize_phrase(tokens: list[Tok], lemmatizer: Lemmatizer, *, singular: bool = False, place: bool = False) -> str:
    """A Russian noun phrase in the nominative, inflecting only its head and what agrees with it.

    "Московского академического театра сатиры" → "Московский академический театр сатиры":
    the adjectives and the first noun are put in the nominative, the genitive that follows
    stays as written (natasha's own normaliser inflects every word). `singular` also puts
    the head in the singular ("Кировском районах" after "Октябрьском и").
    """
    if not tokens:
        return ""
    text = _join(tokens)
    head = next((i for i, t in enumerate(tokens) if t.pos in ("NOUN", "PROPN")), None)
    if head is None:
        return text
    case = tokens[head].feats.get("Case")
    head_parse = choose_parse(lemmatizer, tokens[head].text, case, {"NOUN"}, place) if case not in (None, "Nom") else None
    if head_parse is None:
        # natasha's case can be wrong for rare names ("в районы Верхоянска" tagged Nom):
        # when the word has no nominative reading at all, trust pymorphy's best one.
        parses = [p for p in lemmatizer.parses(tokens[head].text.lower()) if p.tag.POS == "NOUN"]
        if not parses or any(p.tag.case == "nomn" for p in parses):
            if not singular:
                return text
            head_parse = parses[0] if parses else None
            if head_parse is None:
                return text
        else:
            geo = [p for p in parses if "Geox" in p.tag.grammemes]
            head_parse = (geo or parses)[0]
            case = {v2: k for k, v in _UD_TO_PYMORPHY_CASE.items() for v2 in v}.get(head_parse.tag.case or "", case)
    plural = head_parse.tag.number == "plur" and not singular
    head_word = inflect_like(head_parse, {"nomn", "plur" if plural else "sing"}, tokens[head].text)
    if head_word is None:
        return text
    words = [t.text for t in tokens]
    words[head] = restore_case(tokens[head].text, head_word)
    head_gender = next((f.tag.gender for f in [head_parse] if f.tag.gender), None) or "masc"
    agree = {"nomn", "plur"} if plural else {"nomn", "sing", head_gender}
    for i in range(head):
        tok = tokens[i]
        if tok.pos not in ("ADJ", "DET", "NUM"):
            continue
        parse = choose_parse(lemmatizer, tok.text, case, {"ADJF", "PRTF", "NUMR", "NPRO"})
        if parse is None:
            continue
        word = inflect_like(parse, agree, tok.text) or inflect_like(parse, {"nomn"}, tok.text)
        if word is not None:
            words[i] = restore_case(tok.text, word)
    out = []
    for i, t in enumerate(tokens):
        if i:
            out.append(" " if t.start > tokens[i - 1].end else "")
        out.append(words[i])
    return "".join(out)


def _join(tokens: list[Tok]) -> str:
    out = []
    for i, t in enumerate(tokens):
        if i:
            out.append(" " if t.start > tokens[i - 1].end else "")
        out.append(t.text)
    return "".join(out)
