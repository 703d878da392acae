"""`newsflow parse|enrich` over files, folders and WARC archives: every page in a killable worker.

    inputs ──list──▶ jobs (in input order) ──▶ WorkerPool (N processes, a time limit per job)
                                                  │ read under the page limits → raw page → parse (→ enrich)
    stdout ◀── one JSON line per page, in input order ◀──┘   stderr: one line per refused file, progress, summary

A job is a page file or an archived response. Everything that touches the page's bytes
runs in a worker (services/common/workers.py): reading and decompressing under the
scraper's limits (services/common/bounded.py), charset detection, parsing, enrichment.
A job over the time limit is reported as `timeout` and its worker replaced; nothing a
page does can hang the command or grow it past the size limit.

Pure and picklable: the jobs, the worker's handler and its results. The commands keep
`window` jobs in flight and hand results over in input order with `run_ordered`
(services/common/ordered.py), the loop under every stage's window too.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable, Iterator
from urllib.parse import quote

from services.batch.pages import Filters, SourceBook, Skipped, select, to_raw_page
from services.batch.warc import BrokenRegion, WarcEntry, is_warc, read_archive
from services.common.bounded import DecodeRefused, PageLimits, read_file
from services.common.outcomes import Rejected

PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".html.gz", ".htm.gz", ".html.br", ".htm.br", ".html.deflate", ".html.zz")


def default_jobs() -> int:
    """One worker per core this process may use."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


@dataclass(frozen=True)
class PageFile:
    path: str
    name: str
    """How the output names it: the path relative to the folder given, or as given."""


@dataclass(frozen=True)
class FetchedPage:
    """A page fetched in the command's process (already under the size limits)."""

    name: str
    url: str
    content_type: str | None
    body: bytes


@dataclass(frozen=True)
class ArchivedPage:
    archive: str
    name: str
    entry: WarcEntry


@dataclass(frozen=True)
class BrokenArchive:
    """A damaged stretch of an archive (no worker needed: it is reported as it is)."""

    name: str
    region: BrokenRegion


Job = PageFile | FetchedPage | ArchivedPage | BrokenArchive


@dataclass(frozen=True)
class Done:
    """A job's result: `kind` is article | rejected | skipped; `line` is what stdout gets (or None)."""

    kind: str
    reason: str | None = None
    detail: str = ""
    line: dict[str, Any] | None = None
    refused_input: bool = False
    """The input itself was refused (unreadable, too large, a broken stream): stderr says so too."""


# --------------------------------------------------------------------------- listing the inputs


def list_jobs(targets: Iterable[str], *, limits: PageLimits) -> Iterator[Job]:
    """Jobs for files, folders (every page file and archive below, sorted) and WARC archives, in order."""
    for target in targets:
        path = Path(target)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                name = str(child.relative_to(path))
                if is_warc(child):
                    yield from _archive_jobs(child, name, limits)
                elif child.name.lower().endswith(PAGE_SUFFIXES):
                    yield PageFile(str(child), name)
        elif is_warc(path):
            yield from _archive_jobs(path, target, limits)
        else:
            yield PageFile(str(path), target)


def _archive_jobs(path: Path, name: str, limits: PageLimits) -> Iterator[Job]:
    for item in read_archive(path, max_payload=limits.max_bytes):
        if isinstance(item, BrokenRegion):
            yield BrokenArchive(name, item)
        else:
            yield ArchivedPage(str(path), name, item)


def count_page_files(targets: Iterable[str]) -> int | None:
    """How many jobs the targets make, when that is known without reading archives (else None)."""
    total = 0
    for target in targets:
        path = Path(target)
        if path.is_dir():
            for child in path.rglob("*"):
                if child.is_file() and is_warc(child):
                    return None
                if child.is_file() and child.name.lower().endswith(PAGE_SUFFIXES):
                    total += 1
        elif is_warc(path):
            return None
        else:
            total += 1
    return total


# --------------------------------------------------------------------------- the worker's side


@dataclass(frozen=True)
class WorkConfig:
    stage: str
    """parse | enrich"""
    limits: PageLimits
    url: str | None = None
    timezone: str | None = None
    sources_file: str | None = None


def local_url(path: Path) -> str:
    """A stand-in URL for a page read from disk without --url (ids and relative links need one)."""
    return "http://localhost" + quote(str(path.resolve()))


def raw_from_bytes(body: bytes, url: str, *, content_type: str | None = None, timezone_name: str | None = None):  # type: ignore[no-untyped-def]
    from services.scraper.decisions import build_raw_page

    return build_raw_page(
        source="cli", requested_url=url, final_url=url, canonical_url=url, status=200,
        headers={"content-type": content_type or "text/html"}, body=body, fetched_at=datetime.now(timezone.utc),
        fetch_ms=0, discovered_via=None, trace_id=None, language_hint=None, timezone=timezone_name,
    )


def article_json(article: Any) -> dict[str, Any]:
    return article.model_dump(mode="json", exclude={"event_id", "event_type", "schema_version"})


class PageWork:
    """The handler every worker runs (built once in the pool's zygote by `prepare`)."""

    def __init__(self, config: WorkConfig, models: Any = None, book: SourceBook | None = None) -> None:
        self.config = config
        self.models = models
        self.book = book or SourceBook()

    def __call__(self, job: Job) -> Done:
        if isinstance(job, PageFile):
            return self._file(job)
        if isinstance(job, ArchivedPage):
            return self._record(job)
        if isinstance(job, FetchedPage):
            raw = raw_from_bytes(job.body, self.config.url or job.url, content_type=job.content_type,
                                 timezone_name=self.config.timezone)
            return self._process(raw, {"url": job.url})
        raise TypeError(f"not a job: {type(job).__name__}")

    def _file(self, job: PageFile) -> Done:
        where = {"file": job.name}
        try:
            body = read_file(Path(job.path), self.config.limits)
        except DecodeRefused as exc:
            return _rejected(where, exc.reason, exc.detail, refused_input=True)
        except OSError as exc:
            return _rejected(where, "unreadable-file", exc.strerror or str(exc), refused_input=True)
        url = self.config.url or local_url(Path(job.path))
        return self._process(raw_from_bytes(body, url, timezone_name=self.config.timezone), where)

    def _record(self, job: ArchivedPage) -> Done:
        entry = job.entry
        where = {"file": job.name, "record": entry.offset, "url": entry.url}
        skipped = select(entry, self.book, Filters())
        if skipped is not None:
            return Done("skipped", skipped.reason, skipped.detail)
        raw = to_raw_page(entry, self.book, Filters(), self.config.limits)
        if isinstance(raw, Skipped):
            return Done("skipped", raw.reason, raw.detail)
        if isinstance(raw, Rejected):
            return _rejected(where, raw.reason, raw.detail, refused_input=True)
        if self.config.timezone and raw.timezone is None:
            raw = raw.model_copy(update={"timezone": self.config.timezone})
        return self._process(raw, where)

    def _process(self, raw: Any, where: dict[str, Any]) -> Done:
        from services.parser.extract import parse_page

        result = parse_page(raw)
        if not isinstance(result, Rejected) and self.config.stage == "enrich":
            from services.enrichment.logic import enrich

            result = enrich(result, self.models)
        if isinstance(result, Rejected):
            return _rejected(where, result.reason, result.detail)
        return Done("article", line={**where, "article": article_json(result)})


def _rejected(where: dict[str, Any], reason: str, detail: str, *, refused_input: bool = False) -> Done:
    return Done("rejected", reason, detail, {**where, "rejected": f"{reason}: {detail}"}, refused_input)


def prepare(config: WorkConfig) -> PageWork:
    """Runs once in the pool's zygote: import the parser, load the models (enrich) and sources."""
    import services.parser.extract  # noqa: F401 - imported once here, shared by every forked worker

    models = None
    if config.stage == "enrich":
        from services.enrichment.logic import load_models

        models = load_models()
    book = None
    if config.sources_file:
        from schemas.sources import load_sources

        book = SourceBook(load_sources(config.sources_file))
    return PageWork(config, models, book)


def done_from_outcome(job: Job, outcome: Any) -> Done:
    """What the pool's wrapper (`services.common.stage.pooled`) returned, as a Done."""
    if isinstance(outcome, Done):
        return outcome
    if isinstance(outcome, Rejected):  # timeout, worker-crashed, unexpected-error
        where: dict[str, Any] = {"file": job.name}
        if isinstance(job, ArchivedPage):
            where.update(record=job.entry.offset, url=job.entry.url)
        return _rejected(where, outcome.reason, outcome.detail.splitlines()[0] if outcome.detail else "")
    raise TypeError(f"unexpected result {type(outcome).__name__}")


def broken_archive_done(job: BrokenArchive) -> Done:
    region = job.region
    resumed = f"; reading went on at offset {region.resumed_at}" if region.resumed_at is not None else "; nothing readable after it"
    return _rejected({"file": job.name, "record": region.offset}, "archive-damaged", region.detail + resumed, refused_input=True)


# --------------------------------------------------------------------------- keeping the order


def job_size(job: Job) -> int:
    """The bytes a job holds in memory (its page's payload; a file job holds only its path)."""
    if isinstance(job, ArchivedPage):
        return len(job.entry.payload)
    if isinstance(job, FetchedPage):
        return len(job.body)
    return 0


async def iterate_in_thread(items: Iterator[Any], *, size_of: Callable[[Any], int] = lambda item: 0,
                            chunk: int = 64, max_bytes: int = 8 << 20) -> AsyncIterator[Any]:
    """Items of a blocking iterator (reading files, archives), fetched off the event loop.

    A few at a time: a thread hop per item cost the command's process about as much CPU as
    the rest of its work on a page. A hop takes up to `chunk` items, and stops early once
    they hold `max_bytes` (by `size_of`), so read-ahead memory stays bounded however large
    an archive's records are.
    """

    def take() -> list[Any]:
        taken: list[Any] = []
        held = 0
        for item in items:
            taken.append(item)
            held += size_of(item)
            if len(taken) >= chunk or held >= max_bytes:
                break
        return taken

    while taken := await asyncio.to_thread(take):
        for item in taken:
            yield item
