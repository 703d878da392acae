"""Score the enrichment against the annotated corpora.

    python -m bench.eval enrichment

Three sets:

- development (bench/corpus/enrichment/*.json) — the rules were written against it;
- held-out (bench/corpus/enrichment-holdout/*.json) — written afterwards, measured once,
  then used to fix general causes, so no longer blind;
- blind (bench/corpus/blind/) — pages with their annotations, written before the issue-13
  work and kept out of development. It is scored twice: on the annotated title, lead and
  body (enrichment quality alone), and end to end on what the parser extracts from the
  page, as the pipeline runs (a parser miss costs entities and quotes there).

The development and held-out files are {language, title, body, entities: {persons,
organizations, locations}, quotes: [{text, speaker, speaker_role}]}; the blind
annotations hold the same fields at the top level (see bench/corpus/blind/README.md).
Every article goes through `services.enrichment.logic.enrich` exactly as the pipeline runs
it (the language is not given: lingua detects it). Articles in a language the enrichment
has no entity model for are left out of the scores and counted apart. Scores:

- entities, per type: micro precision / recall / F1 over the set of distinct names per
  article. Names are compared case-insensitively, with ё = е, quotation marks and a
  leading "the" ignored ("Правительство Приморского края" = "правительство Приморского
  края", "«Новые люди»" = "Новые люди").
- quote recall: an expected quote is found when a predicted quote covers at least 80 % of
  its word tokens (one predicted quote per expected one, best overlap first).
- speaker accuracy: over the found quotes, the predicted speaker equals the expected one
  (same comparison as names; null = null counts as correct).
- unnamed speakers' roles kept (for information): over the found quotes whose speaker is
  unnamed but whose role the text gives («— считает эксперт»), the predicted role equals
  the annotated one (same comparison as names).
- the seed article's check list from issue 5.

Targets: PER F1 ≥ 0.85, quote recall ≥ 0.85, speaker accuracy ≥ 0.80.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from bench.scoring import markdown_table, prf, tokens

CORPUS = Path(__file__).resolve().parent / "corpus" / "enrichment"
# Written after the enrichment's rules were developed on CORPUS and never used to develop
# them: it tells whether the scores hold on articles the rules were not written against.
HOLDOUT = Path(__file__).resolve().parent / "corpus" / "enrichment-holdout"
# Pages with annotations, written before any change for issue 13 (see its README).
BLIND = Path(__file__).resolve().parent / "corpus" / "blind"
SEED = "000-putin-aliev-dushanbe"
TARGETS = {"persons_f1": 0.85, "quote_recall": 0.85, "speaker_accuracy": 0.80}
QUOTE_OVERLAP = 0.8
TYPES = (("persons", "PER"), ("organizations", "ORG"), ("locations", "LOC"))
SEED_PERSONS = ("Путин", "Алиев", "Песков", "Матвейчев", "Джабаров", "Мирзазаде", "Мусабеков", "Захарова", "Ярошенко")
SEED_LOCATIONS = ("Душанбе", "Баку", "Таджикистан", "Азербайджан")
SEED_SPEAKERS = ("Олег Матвейчев", "Владимир Джабаров", "Айдын Мирзазаде", "Мария Захарова")


def name_key(name: str | None) -> str | None:
    if name is None:
        return None
    text = name.lower().replace("ё", "е")
    text = re.sub(r"[«»\"“”„']", "", text)
    text = re.sub(r"^the\s+", "", text.strip())
    return " ".join(text.split())


def quote_overlap(expected: str, predicted: str) -> float:
    want = Counter(tokens(expected))
    if not want:
        return 0.0
    got = Counter(tokens(predicted))
    return sum((want & got).values()) / sum(want.values())


@dataclass
class Tally:
    tp: dict[str, int] = field(default_factory=lambda: Counter())
    predicted: dict[str, int] = field(default_factory=lambda: Counter())
    expected: dict[str, int] = field(default_factory=lambda: Counter())
    quotes_expected: int = 0
    quotes_found: int = 0
    quotes_predicted: int = 0
    speakers_right: int = 0
    roles_expected: int = 0
    unnamed_roles_right: int = 0
    roles_right: int = 0

    def add(self, other: Tally) -> None:
        for attr in ("tp", "predicted", "expected"):
            getattr(self, attr).update(getattr(other, attr))
        self.quotes_expected += other.quotes_expected
        self.quotes_found += other.quotes_found
        self.quotes_predicted += other.quotes_predicted
        self.speakers_right += other.speakers_right
        self.roles_expected += other.roles_expected
        self.unnamed_roles_right += other.unnamed_roles_right
        self.roles_right += other.roles_right

    def metrics(self) -> dict[str, float | None]:
        out: dict[str, float] = {}
        for attr, _ in TYPES:
            score = prf(self.tp[attr], self.predicted[attr], self.expected[attr])
            out[f"{attr}_precision"], out[f"{attr}_recall"], out[f"{attr}_f1"] = score.precision, score.recall, score.f1
        out["quote_recall"] = self.quotes_found / self.quotes_expected if self.quotes_expected else 1.0
        out["quote_precision"] = self.quotes_found / self.quotes_predicted if self.quotes_predicted else 1.0
        out["speaker_accuracy"] = self.speakers_right / self.quotes_found if self.quotes_found else 1.0
        out["role_accuracy"] = self.roles_right / self.quotes_found if self.quotes_found else 1.0
        # None when the set has no quote by an unnamed speaker whose role the text gives.
        out["unnamed_roles_kept"] = self.unnamed_roles_right / self.roles_expected if self.roles_expected else None
        return out


def parsed_article(name: str, doc: dict[str, Any]):  # type: ignore[no-untyped-def]
    from schemas.parsed_article_v1 import ParsedArticleV1

    article_id = hashlib.sha256(name.encode()).hexdigest()[:16]
    now = datetime(2025, 10, 21, tzinfo=timezone.utc)
    return ParsedArticleV1(
        id=article_id, url=f"https://eval.invalid/{name}", canonical_url=f"https://eval.invalid/{name}", source="eval",
        title=doc["title"], lead=doc.get("lead"), body=doc["body"], language=None, fetched_at=now, extractor_version="eval",
        parsed_at=now,
    )


def score_article(doc: dict[str, Any], enriched: Any, entity_misses: list[list[object]] | None = None,
                  name: str = "") -> tuple[Tally, list[dict[str, Any]]]:
    tally = Tally()
    for attr, label in TYPES:
        want = {name_key(n): n for n in doc["entities"].get(attr, [])}
        got = {name_key(e.name): e.name for e in getattr(enriched.entities, attr)}
        tally.tp[attr] += len(want.keys() & got.keys())
        tally.predicted[attr] += len(got)
        tally.expected[attr] += len(want)
        if entity_misses is not None:
            missed = sorted(want[k] for k in want.keys() - got.keys())
            spurious = sorted(got[k] for k in got.keys() - want.keys())
            if missed or spurious:
                entity_misses.append([name[:3], label, "; ".join(missed), "; ".join(spurious)])
    predicted = list(enriched.quotes)
    tally.quotes_predicted = len(predicted)
    tally.quotes_expected = len(doc["quotes"])
    pairs = sorted(
        ((quote_overlap(q["text"], p.text), i, j) for i, q in enumerate(doc["quotes"]) for j, p in enumerate(predicted)),
        reverse=True,
    )
    used_expected: set[int] = set()
    used_predicted: set[int] = set()
    matches: dict[int, int] = {}
    for overlap, i, j in pairs:
        if overlap < QUOTE_OVERLAP or i in used_expected or j in used_predicted:
            continue
        used_expected.add(i)
        used_predicted.add(j)
        matches[i] = j
    details = []
    for i, q in enumerate(doc["quotes"]):
        j = matches.get(i)
        got_speaker = predicted[j].speaker if j is not None else None
        got_role = predicted[j].speaker_role if j is not None else None
        right = j is not None and name_key(got_speaker) == name_key(q["speaker"])
        role_right = j is not None and _role_key(got_role) == _role_key(q.get("speaker_role"))
        if j is not None:
            tally.quotes_found += 1
            tally.speakers_right += int(right)
            tally.roles_right += int(role_right)
            if q["speaker"] is None and q.get("speaker_role"):
                tally.roles_expected += 1
                tally.unnamed_roles_right += int(role_right)
        details.append({"text": q["text"], "expected": q["speaker"], "found": j is not None, "speaker": got_speaker,
                        "right": right, "role": got_role, "expected_role": q.get("speaker_role"), "role_right": role_right})
    return tally, details


def _role_key(role: str | None) -> str | None:
    """Roles compare like names, without a leading article or possessive determiner."""
    key = name_key(role)
    if key is None:
        return None
    return re.sub(r"^(?:a|an|its|his|her|their)\s+", "", key) or None


def seed_checks(enriched: Any, details: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    persons = [e.name for e in enriched.entities.persons]
    locations = {name_key(e.name) for e in enriched.entities.locations}
    checks = []
    for surname in SEED_PERSONS:
        checks.append((f"person {surname}", any(name_key(p).split()[-1] == name_key(surname) for p in persons)))
    for place in SEED_LOCATIONS:
        checks.append((f"location {place}", name_key(place) in locations))
    for speaker in SEED_SPEAKERS:
        theirs = [d for d in details if d["expected"] == speaker]
        checks.append((f"quotes of {speaker} ({len(theirs)}) attributed to them", bool(theirs) and all(d["right"] for d in theirs)))
    return checks


@dataclass
class Item:
    """One annotated article: `doc` in the development-set format; `case` is the blind page."""

    name: str
    doc: dict[str, Any]
    case: Any = None


def load_files(root: Path) -> list[Item]:
    return [Item(path.stem, json.loads(path.read_text(encoding="utf-8"))) for path in sorted(root.glob("*.json"))]


def blind_doc(expected: dict[str, Any]) -> dict[str, Any]:
    """A blind annotation in the development-set format (entities under one key)."""
    return {
        "language": expected["language"], "title": expected["title"], "lead": expected.get("lead"), "body": expected["body"],
        "entities": {attr: list(expected.get(attr) or []) for attr, _ in TYPES}, "quotes": list(expected.get("quotes") or []),
    }


def load_blind(root: Path = BLIND) -> list[Item]:
    """The blind set's articles (listing pages have nothing to enrich), with their pages."""
    from bench.eval_parser import load_corpus

    return [Item(case.name, blind_doc(case.expected), case) for case in load_corpus(root) if case.is_article]


def nothing_extracted() -> Any:
    """What the pipeline indexes for an article the parser rejected: no language, entities or quotes."""
    from schemas.common import Entities

    return SimpleNamespace(language=None, entities=Entities(), quotes=[])


def enrich_annotated(item: Item, models: Any) -> Any:
    """The enrichment of the annotated title, lead and body. Raises when it rejects them."""
    from services.common.outcomes import Rejected
    from services.enrichment.logic import enrich

    enriched = enrich(parsed_article(item.name, item.doc), models)
    if isinstance(enriched, Rejected):
        raise RuntimeError(f"{item.name}: rejected: {enriched.reason}")
    return enriched


def enrich_end_to_end(item: Item, models: Any) -> Any:
    """Parse the page as the pipeline does, then enrich what the parser extracted."""
    from bench.eval_parser import raw_event
    from services.common.outcomes import Rejected
    from services.enrichment.logic import enrich
    from services.parser.extract import parse_page

    parsed = parse_page(raw_event(item.case))
    if isinstance(parsed, Rejected):
        return nothing_extracted()
    enriched = enrich(parsed, models)
    return nothing_extracted() if isinstance(enriched, Rejected) else enriched


def run(items: list[Item], models: Any, enrich_one: Callable[[Item, Any], Any]) -> dict[str, Any]:
    """Score every article the enrichment has an entity model for; the others are counted apart."""
    total = Tally()
    by_language: dict[str, Tally] = {}
    per_article: list[list[object]] = []
    misses: list[list[object]] = []
    entity_misses: list[list[object]] = []
    role_misses: list[list[object]] = []
    checks: list[tuple[str, bool]] = []
    language_right = 0
    skipped: dict[str, int] = {}
    for item in items:
        doc = item.doc
        if models.ner_for(doc["language"]) is None:
            skipped[doc["language"]] = skipped.get(doc["language"], 0) + 1
            continue
        enriched = enrich_one(item, models)
        language_right += int(enriched.language == doc["language"])
        tally, details = score_article(doc, enriched, entity_misses, item.name)
        total.add(tally)
        by_language.setdefault(doc["language"], Tally()).add(tally)
        m = tally.metrics()
        per_article.append([item.name, doc["language"], m["persons_f1"], m["organizations_f1"], m["locations_f1"],
                            f"{tally.quotes_found}/{tally.quotes_expected}", f"{tally.speakers_right}/{tally.quotes_found}"])
        for d in details:
            if not d["found"] or not d["right"]:
                misses.append([item.name[:3], d["text"][:60].replace("|", "/"), d["expected"],
                               d["speaker"] if d["found"] else "(not found)"])
            elif not d["role_right"]:
                role_misses.append([item.name[:3], d["text"][:40].replace("|", "/"), d["expected_role"], d["role"]])
        if item.name == SEED:
            checks = seed_checks(enriched, details)
    scored = len(per_article)
    metrics = total.metrics()
    summary: dict[str, Any] = {
        "articles": scored,
        **rounded(metrics),
        "language_accuracy": round(language_right / scored, 4) if scored else 0.0,
        "by_language": {lang: rounded(t.metrics()) for lang, t in sorted(by_language.items())},
        "not_scored": skipped,
        "seed_checks": {name: ok for name, ok in checks},
        "targets": TARGETS,
    }
    summary["targets_met"] = all((metrics[k] or 0) >= v for k, v in TARGETS.items()) and all(ok for _, ok in checks)
    return {"summary": summary, "metrics": metrics, "by_language": by_language, "per_article": per_article,
            "misses": misses, "role_misses": role_misses, "entity_misses": entity_misses, "checks": checks}


def rounded(metrics: dict[str, float | None]) -> dict[str, float | None]:
    return {k: None if v is None else round(v, 4) for k, v in metrics.items()}


def shown(value: float | None) -> float | str:
    """A figure for a table: "n/a" where the set has nothing to measure."""
    return "n/a" if value is None else value


PER_ARTICLE_HEADERS = ["article", "lang", "PER F1", "ORG F1", "LOC F1", "quotes found", "speakers right"]


def by_language_table(result: dict[str, Any]) -> str:
    rows = []
    for lang, t in sorted(result["by_language"].items()):
        m = t.metrics()
        rows.append([lang, sum(1 for p in result["per_article"] if p[1] == lang), m["persons_f1"], m["organizations_f1"],
                     m["locations_f1"], m["quote_recall"], m["speaker_accuracy"]])
    return markdown_table(["language", "articles", "PER F1", "ORG F1", "LOC F1", "quote recall", "speaker accuracy"], rows)


def evaluate(root: Path = CORPUS, label: str = "development set") -> dict[str, Any]:
    """One set of annotated articles (development layout): summary and markdown report."""
    from services.enrichment.logic import load_models

    result = run(load_files(root), load_models(), enrich_annotated)
    metrics, summary, checks = result["metrics"], result["summary"], result["checks"]
    lines = [f"## Enrichment evaluation, {label}", "",
             f"{summary['articles']} annotated articles ({_shown(root)}/), enrichment `{_version()}`.", ""]
    rows = [[name, metrics[f"{attr}_precision"], metrics[f"{attr}_recall"], metrics[f"{attr}_f1"]] for attr, name in TYPES]
    lines += ["### Entities (micro-averaged over distinct names per article)", "",
              markdown_table(["type", "precision", "recall", "F1"], rows), ""]
    lines += ["### Quotes", "", markdown_table(
        ["measure", "value", "target"],
        [["quote recall", metrics["quote_recall"], f"≥ {TARGETS['quote_recall']}"],
         ["quote precision (for information)", metrics["quote_precision"], ""],
         ["speaker accuracy", metrics["speaker_accuracy"], f"≥ {TARGETS['speaker_accuracy']}"],
         ["speaker role equal (for information)", metrics["role_accuracy"], ""],
         ["unnamed speakers' roles kept (for information)", shown(metrics["unnamed_roles_kept"]), ""],
         ["PER F1", metrics["persons_f1"], f"≥ {TARGETS['persons_f1']}"],
         ["language detected correctly", summary["language_accuracy"], ""]]), ""]
    lines += ["### By language", "", by_language_table(result), ""]
    if checks:
        lines += ["### Seed article (000-putin-aliev-dushanbe)", "",
                  markdown_table(["check", "result"], [[name, "pass" if ok else "FAIL"] for name, ok in checks]), ""]
    lines += ["### Per article", "", markdown_table(PER_ARTICLE_HEADERS, result["per_article"]), ""]
    if result["misses"]:
        lines += ["### Quotes missed or attributed wrongly", "",
                  markdown_table(["article", "quote", "expected speaker", "predicted"], result["misses"]), ""]
    if result["role_misses"]:
        lines += ["### Speaker right, role different", "",
                  markdown_table(["article", "quote", "expected role", "predicted"], result["role_misses"]), ""]
    if result["entity_misses"]:
        lines += ["### Entities missed or extra", "",
                  markdown_table(["article", "type", "missed", "extra"], result["entity_misses"]), ""]
    lines.append(f"Targets met: **{'yes' if summary['targets_met'] else 'no'}**")
    return {"markdown": "\n".join(lines), "summary": summary}


def _shown(root: Path) -> str:
    try:
        return str(root.resolve().relative_to(Path(__file__).resolve().parent.parent))
    except ValueError:
        return str(root)


# (key, column label, blind?) of the side-by-side table, in order.
COLUMNS = (
    ("development", "development", False),
    ("holdout", "held-out", False),
    ("blind_annotated", "blind (annotated text)", True),
    ("blind_end_to_end", "blind (end to end)", True),
)
ROWS = (
    ("PER precision", "persons_precision"), ("PER recall", "persons_recall"), ("PER F1", "persons_f1"),
    ("ORG precision", "organizations_precision"), ("ORG recall", "organizations_recall"), ("ORG F1", "organizations_f1"),
    ("LOC precision", "locations_precision"), ("LOC recall", "locations_recall"), ("LOC F1", "locations_f1"),
    ("quote recall", "quote_recall"), ("quote precision (for information)", "quote_precision"),
    ("speaker accuracy", "speaker_accuracy"), ("speaker role equal (for information)", "role_accuracy"),
    ("unnamed speakers' roles kept (for information)", "unnamed_roles_kept"),
    ("language detected correctly", "language_accuracy"),
)


def side_by_side(summaries: dict[str, dict[str, Any]]) -> str:
    headers = ["metric"] + [label for _, label, _ in COLUMNS]
    return markdown_table(headers, [[name] + [shown(summaries[key][metric]) for key, _, _ in COLUMNS] for name, metric in ROWS])


def evaluate_sets() -> dict[str, Any]:
    """Every set side by side: development, held-out, and the blind set twice (annotated text
    and end to end from the pages). Per-article rows and misses are printed for the first
    two only; the blind set's per-article counts are returned in "runs" for its record."""
    from services.enrichment.logic import load_models

    models = load_models()
    blind = load_blind()
    runs = {
        "development": run(load_files(CORPUS), models, enrich_annotated),
        "holdout": run(load_files(HOLDOUT), models, enrich_annotated),
        "blind_annotated": run(blind, models, enrich_annotated),
        "blind_end_to_end": run(blind, models, enrich_end_to_end),
    }
    summaries = {key: r["summary"] for key, r in runs.items()}
    # The table formats the unrounded figures (rounding the summary's four digits again to
    # three would move a figure that ends in 5).
    exact = {key: {**r["metrics"], "language_accuracy": r["summary"]["language_accuracy"]} for key, r in runs.items()}
    sizes = ", ".join(f"{label} {summaries[key]['articles']}" for key, label, _ in COLUMNS)
    not_scored = summaries["blind_annotated"]["not_scored"]
    lines = ["## Enrichment evaluation: every set side by side", "",
             f"Articles scored: {sizes}; enrichment `{_version()}`."
             + (f" Blind articles in languages without an entity model, not scored: {not_scored}." if not_scored else ""), "",
             side_by_side(exact), ""]
    dev = runs["development"]
    if dev["checks"]:
        lines += ["### Seed article (000-putin-aliev-dushanbe)", "",
                  markdown_table(["check", "result"], [[name, "pass" if ok else "FAIL"] for name, ok in dev["checks"]]), ""]
    for key, label, blind_column in COLUMNS:
        r = runs[key]
        lines += [f"### By language, {label}", "", by_language_table(r), ""]
        if blind_column:
            continue
        lines += [f"<details><summary>per article, {label}</summary>", "", markdown_table(PER_ARTICLE_HEADERS, r["per_article"]), ""]
        if r["misses"]:
            lines += [markdown_table(["article", "quote", "expected speaker", "predicted"], r["misses"]), ""]
        if r["entity_misses"]:
            lines += [markdown_table(["article", "type", "missed", "extra"], r["entity_misses"]), ""]
        lines += ["</details>", ""]
    lines.append("The blind set's per-article rows and misses are not printed (bench/corpus/blind/README.md).")
    return {"markdown": "\n".join(lines), "summary": summaries, "runs": runs}


def _version() -> str:
    from services.enrichment.logic import ENRICHMENT_VERSION

    return ENRICHMENT_VERSION


if __name__ == "__main__":
    print(evaluate_sets()["markdown"])
