"""Lemmas for morphology-aware search: pymorphy3 for Russian, simplemma for other languages.

`title_lemmas` / `body_lemmas` are the article's word tokens, lower-cased and replaced by
their dictionary form, joined by single spaces: «переговорах» and «переговоров» both
become `переговоры`, so a downstream app that lemmatises its query the same way
(`Lemmatizer.lemmatize_text`) finds every inflected form.

Both libraries ship their dictionaries inside their wheels; nothing is downloaded.
pymorphy3 parses are cached per word form (news vocabulary is highly repetitive, the
cache turns most look-ups into a dict hit).
"""

from __future__ import annotations

import re
from typing import Any, Iterable

WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
# simplemma names Serbo-Croatian as one language.
_SIMPLEMMA_ALIASES = {"sr": "hbs", "hr": "hbs", "bs": "hbs", "no": "nb"}
# Per cache: a pymorphy3 parse list costs about 1.2 KiB, so the parse cache stays under ~120 MiB
# per worker (workers are also replaced every NEWSFLOW_ENRICHMENT_RECYCLE_AFTER articles).
_CACHE_LIMIT = 100_000


class Lemmatizer:
    """Word → lemma, per language. Not thread-safe (one per worker process)."""

    def __init__(self) -> None:
        import pymorphy3
        import simplemma

        self._morph = pymorphy3.MorphAnalyzer()
        self._simplemma = simplemma
        self._supported = _simplemma_languages()
        self._parses: dict[str, Any] = {}
        self._lemmas: dict[tuple[str, str], str] = {}
        # Languages whose simplemma dictionary is loaded as a plain dict (fast look-ups, 20–115 MiB
        # each): those warmed up in the zygote, shared by every worker. Any other language uses
        # simplemma's front-coded low-memory backend (3–15 MiB, the same lemmas, about 10× slower
        # per uncached word): a worker meeting a new language must not grow by its whole dict.
        self._fast: set[str] = set()

    # ------------------------------------------------------------------ Russian morphology

    def parse(self, word: str) -> Any:
        """pymorphy3's best parse of a (lower-cased) Russian word form, cached."""
        parsed = self._parses.get(word)
        if parsed is None:
            if len(self._parses) > _CACHE_LIMIT:
                self._parses.clear()
            parsed = self._parses[word] = self._morph.parse(word)
        return parsed[0]

    def parses(self, word: str) -> list[Any]:
        """Every pymorphy3 parse of a lower-cased Russian word form (cached)."""
        self.parse(word)
        return self._parses[word]

    @property
    def morph(self) -> Any:
        return self._morph

    # ------------------------------------------------------------------ lemmas

    def lemma(self, word: str, language: str | None) -> str:
        """The dictionary form of `word`, lower-cased."""
        lower = word.lower()
        key = (language or "", lower)
        cached = self._lemmas.get(key)
        if cached is not None:
            return cached
        if len(self._lemmas) > _CACHE_LIMIT:
            self._lemmas.clear()
        if language in (None, "ru"):
            lemma = self._russian_lemma(lower) if _CYRILLIC.search(lower) else lower
        elif language:
            lemma = self._simplemma_lemma(lower, language)
        else:
            lemma = lower
        self._lemmas[key] = lemma
        return lemma

    def _russian_lemma(self, lower: str) -> str:
        parse = self.parse(lower)
        return parse.normal_form.replace("ё", "е") if parse.normal_form else lower

    def _simplemma_lemma(self, lower: str, language: str) -> str:
        code = _SIMPLEMMA_ALIASES.get(language, language)
        if code not in self._supported:
            return lower
        try:
            return str(self._simplemma.lemmatize(lower, lang=code, low_memory=code not in self._fast)).lower()
        except (ValueError, KeyError):  # pragma: no cover - unsupported edge cases
            return lower

    def lemmatize_text(self, text: str | None, language: str | None) -> str:
        """Lemmatised tokens of `text` joined by spaces ('' for no text)."""
        if not text:
            return ""
        return " ".join(self.lemma(m.group(), language) for m in WORD.finditer(text))

    def warm_up(self, languages: Iterable[str] = ("ru", "en")) -> None:
        """Load these languages' dictionaries now, as fast plain dicts, rather than on their first
        article (simplemma loads a language's dictionary on its first word: up to 1.4 s; the
        low-memory backend other languages use takes up to 8 s)."""
        for language in languages:
            self._fast.add(_SIMPLEMMA_ALIASES.get(language, language))
            self.lemma("переговорах" if language == "ru" else "houses", language)
            self._lemmas.pop((language, "переговорах" if language == "ru" else "houses"), None)

    def supports(self, language: str) -> bool:
        """Whether `language` has a dictionary (pymorphy3 for Russian, simplemma for the rest)."""
        return language == "ru" or _SIMPLEMMA_ALIASES.get(language, language) in self._supported


def _simplemma_languages() -> frozenset[str]:
    try:
        from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

        return frozenset(SUPPORTED_LANGUAGES)
    except ImportError:  # pragma: no cover - older simplemma
        return frozenset({"en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "uk"})
