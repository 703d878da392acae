"""Parser quality on the project's annotated corpora, side by side with bare trafilatura.

Three sets, each pages/*.html (as served, in their own encodings) and expected/*.json
(what a correct parser extracts):

- development (bench/corpus/parser/): the parser was developed against it;
- held-out (bench/corpus/parser-holdout/): written after the parser was tuned, measured
  once, then used to fix general causes, so no longer blind;
- blind (bench/corpus/blind/): written before the issue-13 work and kept out of
  development; its annotations carry no `site_timezone` (the parser runs as
  `newsflow parse` does). Its first run is kept in bench/results/eval-blind-first-run.md.

Scores, per set and system:

- body F1 over word 4-gram shingles (article-extraction-benchmark's measure), macro mean
- title: exact match (whitespace-normalised)
- times: published_at timezone-aware and within one minute of the true instant
- authors: the same set of names (case-insensitive)
- caption leakage: share of articles whose body contains a photo caption or credit
- live-blog post times: the page's posts and their times, where the expected file lists them
- non-articles: section fronts and tag pages rejected

trafilatura runs as `trafilatura.extract(html, url=…, output_format="json", with_metadata=True)`,
its defaults otherwise and again with favor_precision=True; its date is a day (no time),
which is what it offers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.scoring import markdown_table, median, shingle_f1
from services.common.outcomes import Rejected
from services.parser.extract import parse_page
from services.scraper.decisions import build_raw_page

CORPUS = Path(__file__).resolve().parent / "corpus" / "parser"
# Written after the parser was tuned on CORPUS, and never used for tuning: it tells
# whether the scores hold on pages the parser was not developed against.
HOLDOUT = Path(__file__).resolve().parent / "corpus" / "parser-holdout"
# Written before any change for issue 13 and never used for development (see its README).
BLIND = Path(__file__).resolve().parent / "corpus" / "blind"
# When a page was fetched, unless its annotation says otherwise (pages that show only a
# relative date, "Вчера, 18:40", carry the instant they were fetched as `fetched_at`).
FETCHED_AT = datetime(2025, 12, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class CorpusSet:
    """One annotated set: `key` names it in JSON summaries, `label` in tables."""

    key: str
    label: str
    root: Path
    blind: bool = False


SETS = (
    CorpusSet("development", "development", CORPUS),
    CorpusSet("holdout", "held-out", HOLDOUT),
    CorpusSet("blind", "blind", BLIND, blind=True),
)
SYSTEMS = (("newsflow", "newsflow"), ("trafilatura", "trafilatura"), ("trafilatura_favor_precision", "trafilatura (precision)"))
METRICS = (
    ("body F1 (4-gram shingles), mean", "body_f1_mean"),
    ("body F1, median", "body_f1_median"),
    ("title exact match", "title_exact"),
    ("times (instant, tz-aware, within 1 min)", "published_within_1min"),
    ("author list equal", "authors_equal"),
    ("caption leakage (lower is better)", "caption_leakage"),
    ("live-blog post times equal (pages annotated with them)", "live_post_times"),
    ("non-articles rejected", "non_articles_rejected"),
)


@dataclass
class Case:
    name: str
    html: bytes
    expected: dict[str, Any]

    @property
    def is_article(self) -> bool:
        return self.expected.get("kind", "article") == "article"


@dataclass
class Result:
    rejected: bool = False
    title: str | None = None
    body: str = ""
    published_at: datetime | None = None
    published_date_only: str | None = None
    authors: list[str] = field(default_factory=list)
    live_posts: list[datetime | None] = field(default_factory=list)


def load_corpus(root: Path = CORPUS) -> list[Case]:
    cases = []
    for path in sorted((root / "expected").glob("*.json")):
        expected = json.loads(path.read_text(encoding="utf-8"))
        page = root / "pages" / f"{path.stem}.html"
        cases.append(Case(path.stem, page.read_bytes(), expected))
    return cases


def fetched_at(expected: dict[str, Any]) -> datetime:
    """The fetch instant the parser is given: the annotation's `fetched_at`, else FETCHED_AT."""
    value = expected.get("fetched_at")
    return datetime.fromisoformat(value) if value else FETCHED_AT


def raw_event(case: Case):  # type: ignore[no-untyped-def]
    url = case.expected["url"]
    return build_raw_page(
        source="eval", requested_url=url, final_url=url, canonical_url=url, status=200,
        headers={"content-type": "text/html"}, body=case.html, fetched_at=fetched_at(case.expected), fetch_ms=0,
        discovered_via=None, trace_id=None, language_hint=None, timezone=case.expected.get("site_timezone"),
    )


def run_newsflow(case: Case) -> Result:
    result = parse_page(raw_event(case))
    if isinstance(result, Rejected):
        return Result(rejected=True)
    return Result(title=result.title, body=result.body, published_at=result.published_at, authors=result.authors,
                  live_posts=[p.published_at for p in result.live_posts])


def run_trafilatura(case: Case, **options: Any) -> Result:
    import trafilatura

    raw = raw_event(case)
    out = trafilatura.extract(raw.html, url=case.expected["url"], output_format="json", with_metadata=True, **options)
    if not out:
        return Result(rejected=True)
    data = json.loads(out)
    authors = [a.strip() for a in (data.get("author") or "").split(";") if a.strip()]
    return Result(title=data.get("title"), body=data.get("text") or "", published_date_only=data.get("date"), authors=authors)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).strip()


def _date_ok(result: Result, expected: str | None) -> bool:
    if not expected:
        return result.published_at is None and result.published_date_only is None
    truth = datetime.fromisoformat(expected)
    if result.published_at is not None:
        return result.published_at.tzinfo is not None and abs((result.published_at - truth).total_seconds()) <= 60
    if result.published_date_only:
        # A day without time or zone cannot be within a minute of the instant unless
        # the article was published at midnight UTC; we give it that chance.
        try:
            day = datetime.fromisoformat(result.published_date_only).replace(tzinfo=timezone.utc)
        except ValueError:
            return False
        return abs((day - truth).total_seconds()) <= 60
    return False


def _captions(expected: dict[str, Any]) -> list[str]:
    texts = []
    for image in expected.get("images") or []:
        for key in ("caption", "credit"):
            if image.get(key):
                texts.append(_norm(image[key]))
    return [t for t in texts if len(t) > 8]


def score(cases: list[Case], results: list[Result]) -> dict[str, Any]:
    rows = []
    f1s, titles, dates, authors, leaks, posts = [], [], [], [], [], []
    non_articles, non_rejected = 0, 0
    for case, result in zip(cases, results):
        exp = case.expected
        if not case.is_article:
            non_articles += 1
            non_rejected += int(result.rejected)
            rows.append([case.name, "not-article", "rejected" if result.rejected else "NOT rejected", "", "", "", ""])
            continue
        f1 = shingle_f1(result.body, exp.get("body")).f1 if not result.rejected else 0.0
        title_ok = not result.rejected and _norm(result.title) == _norm(exp.get("title"))
        date_ok = not result.rejected and _date_ok(result, exp.get("published_at"))
        want = {a.casefold() for a in exp.get("authors") or []}
        got = {_norm(a).casefold() for a in result.authors}
        authors_ok = not result.rejected and want == got
        if exp.get("live_posts") is not None:
            # A post is annotated as its time, or as {"published_at": time, "headline": …}.
            want_posts = [datetime.fromisoformat(t["published_at"] if isinstance(t, dict) else t) for t in exp["live_posts"]]
            posts.append(not result.rejected and result.live_posts == want_posts)
        body_norm = _norm(result.body)
        leaked = [c for c in _captions(exp) if c in body_norm and c not in _norm(exp.get("body"))]
        f1s.append(f1)
        titles.append(title_ok)
        dates.append(date_ok)
        authors.append(authors_ok)
        leaks.append(bool(leaked))
        rows.append([case.name, exp.get("template", ""), round(f1, 3), "✓" if title_ok else "✗", "✓" if date_ok else "✗", "✓" if authors_ok else "✗", "leak" if leaked else ""])
    n = len(f1s) or 1
    summary = {
        "articles": len(f1s),
        "body_f1_mean": round(sum(f1s) / n, 4),
        "body_f1_median": round(median(f1s), 4),
        "title_exact": round(sum(titles) / n, 4),
        "published_within_1min": round(sum(dates) / n, 4),
        "authors_equal": round(sum(authors) / n, 4),
        "caption_leakage": round(sum(leaks) / n, 4),
        "live_post_times": round(sum(posts) / len(posts), 4) if posts else None,
        "non_articles": non_articles,
        "non_articles_rejected": round(non_rejected / non_articles, 4) if non_articles else None,
    }
    return {"summary": summary, "rows": rows}


def languages(cases: list[Case]) -> dict[str, int]:
    langs: dict[str, int] = {}
    for c in cases:
        lang = c.expected.get("language", "?")
        langs[lang] = langs.get(lang, 0) + 1
    return dict(sorted(langs.items()))


def run_set(root: Path) -> dict[str, Any]:
    """Every system over one set: {"cases", "languages", "scores": {system: {"summary", "rows"}}}."""
    cases = load_corpus(root)
    return {
        "cases": len(cases),
        "languages": languages(cases),
        "scores": {
            "newsflow": score(cases, [run_newsflow(c) for c in cases]),
            "trafilatura": score(cases, [run_trafilatura(c) for c in cases]),
            "trafilatura_favor_precision": score(cases, [run_trafilatura(c, favor_precision=True) for c in cases]),
        },
    }


def set_heading(label: str, run: dict[str, Any]) -> str:
    s = run["scores"]["newsflow"]["summary"]
    langs = ", ".join(f"{k}: {v}" for k, v in run["languages"].items())
    return f"{label}: {run['cases']} pages ({s['articles']} articles, {s['non_articles']} non-articles; languages {langs})"


def side_by_side(runs: dict[str, dict[str, Any]], sets: tuple[CorpusSet, ...]) -> str:
    """One table: a row per metric, a column per set and system."""
    headers = ["metric"] + [f"{cs.label}: {label}" for cs in sets for _, label in SYSTEMS]
    rows = [[name] + [runs[cs.key]["scores"][system]["summary"][key] for cs in sets for system, _ in SYSTEMS]
            for name, key in METRICS]
    return markdown_table(headers, rows)


PER_PAGE_HEADERS = ["page", "template", "body F1", "title", "date", "authors", "captions"]


def evaluate(root: Path = CORPUS, label: str = "development corpus") -> dict[str, Any]:
    """One set: its summary per system and a markdown report with newsflow's per-page rows."""
    run = run_set(root)
    ours = run["scores"]["newsflow"]
    head = f"### Parser evaluation, {set_heading(label, run)}\n"
    table = markdown_table(
        ["metric", "newsflow parser", "trafilatura.extract", "trafilatura (favor_precision)"],
        [[name] + [run["scores"][system]["summary"][key] for system, _ in SYSTEMS] for name, key in METRICS],
    )
    per_page = markdown_table(PER_PAGE_HEADERS, ours["rows"])
    return {
        "summary": {system: run["scores"][system]["summary"] for system, _ in SYSTEMS},
        "markdown": head + "\n" + table + "\n\n<details><summary>per page (newsflow)</summary>\n\n" + per_page + "\n\n</details>",
    }


def evaluate_sets(sets: tuple[CorpusSet, ...] = SETS) -> dict[str, Any]:
    """Every set side by side in one table, with the per-page rows of the non-blind sets.

    The blind set's per-page rows are returned in "runs" (for its first-run record) but not
    printed: the set is not to be used for developing rules.
    """
    runs = {cs.key: run_set(cs.root) for cs in sets}
    lines = ["### Parser evaluation: every set side by side", ""]
    lines += [f"- {set_heading(cs.label, runs[cs.key])}" for cs in sets]
    lines += ["", side_by_side(runs, sets), ""]
    for cs in sets:
        if cs.blind:
            lines += [f"The {cs.label} set's per-page rows are not printed (bench/corpus/blind/README.md).", ""]
            continue
        lines += [f"<details><summary>per page, {cs.label} (newsflow)</summary>", "",
                  markdown_table(PER_PAGE_HEADERS, runs[cs.key]["scores"]["newsflow"]["rows"]), "", "</details>", ""]
    return {
        "summary": {cs.key: {system: runs[cs.key]["scores"][system]["summary"] for system, _ in SYSTEMS} for cs in sets},
        "runs": runs,
        "markdown": "\n".join(lines).rstrip(),
    }


if __name__ == "__main__":
    print(evaluate_sets()["markdown"])
