"""Parser quality on the project's annotated corpus, side by side with bare trafilatura.

Corpus: bench/corpus/parser/pages/*.html (as served, in their own encodings) and
bench/corpus/parser/expected/*.json (what a correct parser extracts). Scores:

- body F1 over word 4-gram shingles (article-extraction-benchmark's measure), macro mean
- title: exact match (whitespace-normalised)
- published_at: timezone-aware and within one minute of the true instant
- authors: the same set of names (case-insensitive)
- caption leakage: share of articles whose body contains a photo caption or credit
- live-blog post times: the page's posts and their times, where the expected file lists them
- non-articles: section fronts and tag pages rejected

trafilatura runs as `trafilatura.extract(html, url=…, output_format="json", with_metadata=True)`,
its defaults otherwise; its date is a day (no time), which is what it offers.
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
from services.scraper.crawl import build_raw_page

CORPUS = Path(__file__).resolve().parent / "corpus" / "parser"
# Written after the parser was tuned on CORPUS, and never used for tuning: it tells
# whether the scores hold on pages the parser was not developed against.
HOLDOUT = Path(__file__).resolve().parent / "corpus" / "parser-holdout"
FETCHED_AT = datetime(2025, 12, 1, tzinfo=timezone.utc)


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


def raw_event(case: Case):  # type: ignore[no-untyped-def]
    url = case.expected["url"]
    return build_raw_page(
        source="eval", requested_url=url, final_url=url, canonical_url=url, status=200,
        headers={"content-type": "text/html"}, body=case.html, fetched_at=FETCHED_AT, fetch_ms=0,
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
            want_posts = [datetime.fromisoformat(t) for t in exp["live_posts"]]
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


def evaluate(root: Path = CORPUS, label: str = "development corpus") -> dict[str, Any]:
    cases = load_corpus(root)
    ours = score(cases, [run_newsflow(c) for c in cases])
    bare = score(cases, [run_trafilatura(c) for c in cases])
    precise = score(cases, [run_trafilatura(c, favor_precision=True) for c in cases])
    metrics = [
        ("body F1 (4-gram shingles), mean", "body_f1_mean"),
        ("body F1, median", "body_f1_median"),
        ("title exact match", "title_exact"),
        ("published_at within 1 min, tz-aware", "published_within_1min"),
        ("author list equal", "authors_equal"),
        ("caption leakage (lower is better)", "caption_leakage"),
        ("live-blog post times equal (pages annotated with them)", "live_post_times"),
        ("non-articles rejected", "non_articles_rejected"),
    ]
    langs: dict[str, int] = {}
    for c in cases:
        langs[c.expected.get("language", "?")] = langs.get(c.expected.get("language", "?"), 0) + 1
    head = (
        f"### Parser evaluation, {label}: {len(cases)} pages ({ours['summary']['articles']} articles, "
        f"{ours['summary']['non_articles']} non-articles; languages {', '.join(f'{k}: {v}' for k, v in sorted(langs.items()))})\n"
    )
    table = markdown_table(
        ["metric", "newsflow parser", "trafilatura.extract", "trafilatura (favor_precision)"],
        [[label, ours["summary"][key], bare["summary"][key], precise["summary"][key]] for label, key in metrics],
    )
    per_page = markdown_table(["page", "template", "body F1", "title", "date", "authors", "captions"], ours["rows"])
    return {
        "summary": {"newsflow": ours["summary"], "trafilatura": bare["summary"], "trafilatura_favor_precision": precise["summary"]},
        "markdown": head + "\n" + table + "\n\n<details><summary>per page (newsflow)</summary>\n\n" + per_page + "\n\n</details>",
    }


if __name__ == "__main__":
    print(evaluate()["markdown"])
