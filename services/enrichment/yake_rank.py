"""YAKE's keyword ranking, in one linear pass over plain dicts.

The scoring is the one of the `yake` package (version pinned in requirements.lock), which
this replaces in the hot path: the same tokenisation (segtok), term features (casing,
position, frequency, relatedness, spread), n-gram scores with the "bi" stopword weighting,
and the same near-duplicate filter, so the ranked list is the same, in the same order
(`bench/profile_enrichment.py compare` checks it on every bench and evaluation article).
What differs is the cost: the package builds a networkx graph, an object per n-gram
occurrence and a numpy median per term, which made keywords a third of the enrichment's
time (`bench/results/profile-enrichment-before.md`); here a term is a small list, the
co-occurrence graph two dicts of counters, and a candidate a dict entry.

Stopword lists are the package's files, read once per language and kept
(`stopwords(language)`).
"""

from __future__ import annotations

import math
import os
import statistics
import string
from functools import lru_cache

_PUNCTUATION = frozenset(string.punctuation)
_DISCARDED_TAGS = ("u", "d")


@lru_cache(maxsize=None)
def stopwords(code: str) -> frozenset[str]:
    """The `yake` package's stopword list for a YAKE language code ("cz" for Czech), or its
    language-neutral list for a language it has none for. (The package itself cuts the
    code to two letters, so its "noLang" fallback reads the Norwegian list: not repeated.)"""
    import yake

    folder = os.path.join(os.path.dirname(yake.__file__), "core", "StopwordsList")
    path = os.path.join(folder, f"stopwords_{code}.txt")
    if not code or not os.path.exists(path):
        path = os.path.join(folder, "stopwords_noLang.txt")
    try:
        with open(path, encoding="utf-8") as f:
            return frozenset(f.read().lower().split("\n"))
    except UnicodeDecodeError:  # one list in the package is Latin-1
        with open(path, encoding="ISO-8859-1") as f:
            return frozenset(f.read().lower().split("\n"))


def _tag(word: str, inside_sentence: bool) -> str:
    """d: a number; u: unusable (digits and letters mixed, no letter or digit, much punctuation);
    a: an acronym (all capitals); n: a capitalised word inside a sentence; p: anything else."""
    bare = word.replace(",", "")
    if bare.isdigit() or bare.replace(".", "", 1).isdigit():
        return "d"
    digits = letters = punctuation = 0
    for c in word:
        if c.isdigit():
            digits += 1
        if c.isalpha():
            letters += 1
        if c in _PUNCTUATION:
            punctuation += 1
    if (digits and letters) or (not digits and not letters) or punctuation > 1:
        return "u"
    if word.isupper():
        return "a"
    if len(word) > 1 and word[0].isupper() and inside_sentence and sum(c.isupper() for c in word) == 1:
        return "n"
    return "p"


def _sentences(text: str) -> list[list[str]]:
    """Tokens per sentence, as YAKE splits them (segtok; contractions split, "'s" parts dropped)."""
    from segtok.segmenter import split_multi
    from segtok.tokenizer import split_contractions, web_tokenizer

    text = text.replace("\n", " ").replace("\t", " ")
    text = ("\n\n" if text.lstrip()[:1] in string.ascii_uppercase and text.lstrip() else " ") + text
    return [
        [w for w in split_contractions(web_tokenizer(s)) if w and not (w.startswith("'") and len(w) > 1)]
        for s in split_multi(text) if s.strip()
    ]


# A term: [tf, tf_acronym, tf_proper, stopword, h, {sentence id: None}]
_TF, _TF_A, _TF_N, _STOP, _H, _SENTENCES = range(6)


def rank(text: str, stop: frozenset[str], n: int = 3, top: int = 20, dedup_lim: float = 0.9) -> list[tuple[str, float]]:
    """The `top` best key phrases of `text` (up to `n` words) with their YAKE scores, best
    (lowest) first, near-duplicates of a better one left out. [] for a text without words."""
    sentences = _sentences(text)
    terms: dict[str, list] = {}  # type: ignore[type-arg]
    right: dict[str, dict[str, float]] = {}  # term → {next term: co-occurrences}
    left: dict[str, dict[str, float]] = {}   # term → {previous term: co-occurrences}
    # candidate key → [first spelling, term keys, tag patterns, tf]
    candidates: dict[str, list] = {}  # type: ignore[type-arg]
    words: dict[str, tuple[str, str] | None] = {}  # word → (lower, term key); None for punctuation
    tags: dict[tuple[str, bool], str] = {}
    for sentence_id, tokens in enumerate(sentences):
        # The words since the last punctuation: (tag, spelling, lower, term key), the last `n`.
        block: list[tuple[str, str, str, str]] = []
        for position, word in enumerate(tokens):
            known = words.get(word, False)
            if known is False:
                lower = word.lower()
                known = words[word] = None if all(c in _PUNCTUATION for c in word) else (
                    lower, lower[:-1] if lower.endswith("s") and len(lower) > 3 else lower)
            if known is None:
                block = []
                continue
            lower, key = known
            tag = tags.get((word, position > 0))
            if tag is None:
                tag = tags[(word, position > 0)] = _tag(word, position > 0)
            term = terms.get(key)
            if term is None:
                bare = key
                for c in _PUNCTUATION:
                    if c in bare:
                        bare = bare.replace(c, "")
                term = terms[key] = [0.0, 0.0, 0.0, lower in stop or key in stop or len(bare) < 3, 0.0, {}]
            term[_TF] += 1.0
            if tag == "a":
                term[_TF_A] += 1.0
            elif tag == "n":
                term[_TF_N] += 1.0
            term[_SENTENCES][sentence_id] = None
            if block and tag not in _DISCARDED_TAGS and block[-1][0] not in _DISCARDED_TAGS:
                before = block[-1][3]
                row = right.setdefault(before, {})
                row[key] = row.get(key, 0.0) + 1.0
                column = left.setdefault(key, {})
                column[before] = column.get(before, 0.0) + 1.0
            # Every n-gram ending here, shortest first (the order YAKE adds them in).
            spelled, unique, pattern, keys = word, lower, tag, [key]
            for size in range(1, min(n, len(block) + 1) + 1):
                if size > 1:
                    p_tag, p_word, p_lower, p_key = block[-size + 1]
                    spelled, unique, pattern, keys = f"{p_word} {spelled}", f"{p_lower} {unique}", p_tag + pattern, [p_key, *keys]
                candidate = candidates.get(unique)
                if candidate is None:
                    candidates[unique] = [spelled, keys, {pattern}, 1.0]
                else:
                    candidate[2].add(pattern)
                    candidate[3] += 1.0
            block.append((tag, word, lower, key))
            if len(block) > max(n - 1, 1):  # only the last words can start an n-gram or co-occur
                del block[0]
    if not terms:
        return []
    _score_terms(terms, right, left, len(sentences))
    scored = []
    for unique, (spelled, keys, patterns, tf) in candidates.items():
        if terms[keys[0]][_STOP] or terms[keys[-1]][_STOP]:
            continue
        if not any("u" not in p and "d" not in p for p in patterns):
            continue
        scored.append((_phrase_score(keys, tf, terms, right), unique, spelled))
    scored.sort(key=lambda item: item[0])  # stable: ties keep the order of first occurrence
    chosen: list[tuple[float, str, str]] = []
    for h, unique, spelled in scored:
        if any(_similarity(unique, other) > dedup_lim for _, other, _ in chosen):
            continue
        chosen.append((h, unique, spelled))
        if len(chosen) == top:
            break
    return [(spelled, h) for h, _, spelled in chosen]


def _score_terms(terms: dict[str, list], right: dict[str, dict[str, float]],  # type: ignore[type-arg]
                 left: dict[str, dict[str, float]], sentence_count: int) -> None:
    """Each term's h (lower is more important): position, relatedness, casing, frequency, spread."""
    import numpy as np

    content = np.array([t[_TF] for t in terms.values() if not t[_STOP]])
    if not content.size:
        return  # every term is a stopword: all scores stay 0
    avg_tf, std_tf = content.mean(), content.std()
    max_tf = max(t[_TF] for t in terms.values())
    for key, term in terms.items():
        tf = term[_TF]
        out, into = right.get(key, {}), left.get(key, {})
        out_sum, in_sum = sum(out.values()), sum(into.values())
        pwr = 0 if out_sum == 0 else len(out) / out_sum
        pwl = 0 if in_sum == 0 else len(into) / in_sum
        wrel = (0.5 + (pwl * (tf / max_tf))) + (0.5 + (pwr * (tf / max_tf)))
        wfreq = tf / (avg_tf + std_tf)
        wspread = len(term[_SENTENCES]) / sentence_count
        wcase = max(term[_TF_A], term[_TF_N]) / (1.0 + math.log(tf))
        wpos = math.log(math.log(3.0 + statistics.median(term[_SENTENCES])))
        term[_H] = (wpos * wrel) / (wcase + (wfreq / wrel) + (wspread / wrel))


def _phrase_score(keys: list[str], tf: float, terms: dict[str, list],  # type: ignore[type-arg]
                  right: dict[str, dict[str, float]]) -> float:
    """A phrase's h from its words' h; a stopword inside counts by how surely it links its neighbours."""
    sum_h, prod_h = 0.0, 1.0
    for i, key in enumerate(keys):
        term = terms[key]
        if not term[_STOP]:
            sum_h += term[_H]
            prod_h *= term[_H]
            continue
        prob_before = prob_after = 0.0
        if i > 0 and key in right.get(keys[i - 1], {}):
            prob_before = right[keys[i - 1]][key] / terms[keys[i - 1]][_TF]
        if i < len(keys) - 1 and keys[i + 1] in right.get(key, {}):
            prob_after = right[key][keys[i + 1]] / terms[keys[i + 1]][_TF]
        prob = prob_before * prob_after
        prod_h *= 1 + (1 - prob)
        sum_h -= 1 - prob
    return prod_h / ((sum_h + 1) * tf)


@lru_cache(maxsize=50_000)
def _similarity(a: str, b: str) -> float:
    """YAKE's "seqm" near-duplicate measure between two lower-cased phrases (symmetric)."""
    if a == b:
        return 1.0
    la, lb = len(a), len(b)
    longest = max(la, lb)
    if abs(la - lb) > longest * 0.6:
        return 0.0
    if longest > 3:
        if a[0] != b[0] or a[-1] != b[-1]:
            return 0.0
        if min(la, lb) >= 3 and a[:2] != b[:2]:
            return 0.0
    if abs(a.count(" ") - b.count(" ")) > 1:
        return 0.0
    if longest == 0:
        return 0.0
    length_ratio = min(la, lb) / longest
    if length_ratio < 0.3:
        return 0.0
    chars_a, chars_b = set(a), set(b)
    char_overlap = len(chars_a & chars_b) / len(chars_a | chars_b)
    if char_overlap < 0.2:
        return 0.0
    if longest <= 4:
        return char_overlap * length_ratio
    words_a, words_b = a.split(), b.split()
    if len(words_a) > 1 or len(words_b) > 1:
        word_union = set(words_a) | set(words_b)
        if word_union:
            word_overlap = len(set(words_a) & set(words_b)) / len(word_union)
            if word_overlap > 0.4:
                return word_overlap
    trigrams_a = {a[i:i + 3] for i in range(la - 2)}
    trigrams_b = {b[i:i + 3] for i in range(lb - 2)}
    union = trigrams_a | trigrams_b
    trigram_overlap = len(trigrams_a & trigrams_b) / len(union) if union else 0
    return min(0.3 * length_ratio + 0.2 * char_overlap + 0.5 * trigram_overlap, 1.0)
