"""Keywords: YAKE over the lemmatised title and body, in the article's language.

YAKE is unsupervised and statistical (term position, frequency, casing, spread over
sentences), ships stopword lists for 34 languages, and needs no model. Its scoring runs in
`yake_rank.py`: the package's own ranking, rewritten to one linear pass (same list, a
fraction of the time). It runs over
the lemmatised text (punctuation and capitalisation kept, so its casing and sentence
features still work), so «переговоров» and «переговорах» count as one term. Candidates
with a verb, adverb, pronoun or number are dropped (when the language has a tagger),
and so are terms already covered by a better-ranked phrase: the ten that remain are
what the article is about ("Юбилейный мост", "многодетный семья", "flood sensor").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

from services.enrichment.lemmas import WORD
from services.enrichment.yake_rank import rank, stopwords

if TYPE_CHECKING:
    from services.enrichment.text import Tok
    from services.enrichment.lemmas import Lemmatizer

TOP = 10
MAX_NGRAM = 2
_YAKE_LANGUAGE = {"cs": "cz"}
_RU_EXCLUDED_POS = {"VERB", "INFN", "GRND", "PRTS", "ADVB", "NPRO", "PREP", "CONJ", "PRCL", "NUMR", "INTJ", "PRED", "COMP"}
_UD_EXCLUDED_POS = {"VERB", "AUX", "ADV", "PRON", "DET", "ADP", "CCONJ", "SCONJ", "PART", "NUM", "INTJ", "PUNCT"}


class KeywordExtractor:
    def __init__(self, lemmatizer: Lemmatizer) -> None:
        self.lemmatizer = lemmatizer

    def warm_up(self, languages: Iterable[str]) -> None:
        """Read the stopword lists of these languages now (they are kept for the process)."""
        for language in languages:
            stopwords(_YAKE_LANGUAGE.get(language, language))

    def extract(self, title: str, body: str, language: str | None, tokens: Iterable[Tok] = (), top: int = TOP) -> list[str]:
        """The article's `top` keywords (lemmas), best first."""
        text = f"{title.strip()}.\n\n{body}" if title.strip() else body
        lemmatised, proper = self._lemmatised(text, language)
        if not lemmatised.strip():
            return []
        code = _YAKE_LANGUAGE.get(language or "", language or "")
        ranked = rank(lemmatised, stopwords(code), n=MAX_NGRAM, top=top * 4, dedup_lim=0.7)
        excluded = self._excluded_lemmas(tokens, language)
        chosen: list[str] = []
        covered: set[str] = set()
        for phrase, _score in ranked:
            words = phrase.lower().split()
            if not words or any(w.isdigit() or not re.search(r"[^\W\d_]", w) for w in words):
                continue
            if any(self._excluded(w, language, excluded) for w in words):
                continue
            if all(w in covered for w in words):
                continue
            covered.update(words)
            chosen.append(" ".join(w if w not in proper else proper[w] for w in words))
            if len(chosen) == top:
                break
        return chosen

    def _lemmatised(self, text: str, language: str | None) -> tuple[str, dict[str, str]]:
        """The text with every word replaced by its lemma (capitalised as written), and the
        lemmas written capitalised inside sentences (proper names) → their spelling."""
        out: list[str] = []
        proper: dict[str, str] = {}
        pos = 0
        for m in WORD.finditer(text):
            word = m.group()
            lemma = self.lemmatizer.lemma(word, language)
            capitalised = word[:1].isupper()
            if capitalised:
                spelled = lemma[:1].upper() + lemma[1:] if not word.isupper() or len(word) == 1 else lemma.upper()
                before = text[max(0, m.start() - 3):m.start()]
                if m.start() > 0 and not re.search(r"[.!?…\n»\"”:]\s*$|^\s*$", before) and not before.endswith("«"):
                    proper.setdefault(lemma, spelled)
                lemma = spelled
            out.append(text[pos:m.start()])
            out.append(lemma)
            pos = m.end()
        out.append(text[pos:])
        return "".join(out), proper

    def _excluded_lemmas(self, tokens: Iterable[Tok], language: str | None) -> set[str]:
        if language == "ru":
            return set()
        seen: dict[str, list[bool]] = {}
        for tok in tokens:
            if not WORD.fullmatch(tok.text):
                continue
            lemma = self.lemmatizer.lemma(tok.text, language)
            seen.setdefault(lemma, []).append(tok.pos in _UD_EXCLUDED_POS)
        return {lemma for lemma, flags in seen.items() if sum(flags) * 2 > len(flags)}

    def _excluded(self, word: str, language: str | None, excluded: set[str]) -> bool:
        if language == "ru" and re.search(r"[а-яё]", word):
            return self.lemmatizer.parse(word).tag.POS in _RU_EXCLUDED_POS
        return word in excluded
