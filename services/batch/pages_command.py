"""`newsflow parse|enrich`: one page (a file or a URL) or `--batch` over files, folders and archives.

Output contract (unchanged from the single-process version):
- one page: the article as indented JSON on stdout (exit 0), or `{"rejected": reason,
  "detail": …}` (exit 1);
- `--batch`: one JSON line per page on stdout, in input order whatever finishes first:
  `{"file": …, "article": {…}}` or `{"file": …, "rejected": "reason: detail"}`; pages from an
  archive also carry `"record"` (its offset) and `"url"`. Exit 0 once every input was tried.
- stderr: one line per refused input (`newsflow parse: FILE: reason: detail`: unreadable, too
  large, a broken or bomb-like compressed stream, a damaged archive, over the time limit),
  a progress line when stderr is a terminal (or with `--progress`), and a summary at the end.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from services.batch.jobs import (
    BrokenArchive, Done, FetchedPage, Job, PageFile, WorkConfig, broken_archive_done, count_page_files,
    default_jobs, done_from_outcome, iterate_in_thread, job_size, list_jobs,
)
from services.batch.progress import Progress, Tally, reasons_text
from services.batch.settings import ScraperLimits, default_time_limit
from services.common.ordered import run_ordered

LOUD_REASONS = ("timeout", "worker-crashed", "unexpected-error")
"""Rejections that are about the run, not the page's content: stderr says so as it happens."""


@dataclass
class PagesOptions:
    stage: str
    targets: list[str]
    batch: bool
    jobs: int | None = None
    time_limit: float | None = None
    url: str | None = None
    timezone: str | None = None
    sources_file: str | None = None
    progress: bool | None = None


def run(options: PagesOptions, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        return asyncio.run(_run(options, out, err))
    except KeyboardInterrupt:
        print(f"newsflow {options.stage}: interrupted", file=err)
        return 130


async def _run(options: PagesOptions, out: TextIO, err: TextIO) -> int:
    from services.common.stage import pooled
    from services.common.workers import PoolUnavailable, WorkerPool

    limits = ScraperLimits().page_limits()
    jobs_n = options.jobs or default_jobs()
    time_limit = options.time_limit or default_time_limit(options.stage)
    command = f"newsflow {options.stage}"
    if not options.batch:
        jobs_n = 1
        single = await _single_job(options, limits, command, err)
        if isinstance(single, int):
            return single
    config = WorkConfig(options.stage, limits, options.url, options.timezone, options.sources_file)
    pool = WorkerPool(options.stage, "services.batch.jobs:prepare", (config,), size=jobs_n, time_limit=time_limit)
    try:
        await pool.start()
    except PoolUnavailable as exc:
        print(f"{command}: cannot start the workers: {str(exc).splitlines()[-1]}", file=err)
        return 1
    handle = pooled(pool, options.stage)

    async def start(job: Job) -> Done:
        if isinstance(job, BrokenArchive):
            return broken_archive_done(job)
        return done_from_outcome(job, await handle(job))

    try:
        if not options.batch:
            done = await start(single)
            return _print_single(done, single, command, out, err)
        return await _run_batch(options, start, jobs_n, limits, command, out, err)
    finally:
        pool.close()


async def _single_job(options: PagesOptions, limits: Any, command: str, err: TextIO) -> Job | int:
    from pathlib import Path

    from services.batch.fetch import FetchRefused, check_scheme, fetch_page

    target = options.targets[0] if options.targets else None
    if target is None:
        print(f"{command}: give FILE_OR_URL or --batch FILE_OR_DIR…", file=err)
        return 2
    if "://" in target:
        from schemas.sources import DEFAULT_USER_AGENT

        try:
            check_scheme(target)
            page = await fetch_page(target, DEFAULT_USER_AGENT, limits)
        except FetchRefused as exc:
            print(f"{command}: {target}: {exc.reason}: {exc.detail}", file=err)
            return 1
        return FetchedPage(target, page.final_url, page.content_type, page.body)
    if not Path(target).is_file():
        print(f"{command}: no such file: {target}", file=err)
        return 2
    return PageFile(target, target)


def _print_single(done: Done, job: Job, command: str, out: TextIO, err: TextIO) -> int:
    if done.kind == "article":
        assert done.line is not None
        print(json.dumps(done.line["article"], ensure_ascii=False, indent=2, default=str), file=out)
        return 0
    if done.refused_input or done.reason in LOUD_REASONS:
        print(f"{command}: {job.name}: {done.reason}: {done.detail}", file=err)
        return 1
    print(json.dumps({"rejected": done.reason, "detail": done.detail}, ensure_ascii=False, indent=2), file=out)
    return 1


async def _run_batch(options: PagesOptions, start: Any, jobs_n: int, limits: Any, command: str,
                     out: TextIO, err: TextIO) -> int:
    tally = Tally()
    progress = Progress(
        tally, lambda t: f"{t.outcomes['articles']} articles  {t.outcomes['rejected']} rejected", unit="pages",
        total=count_page_files(options.targets), enabled=Progress.wanted(options.progress, err), stream=err,
    )

    async def finish(job: Job, done: Done) -> None:
        if done.kind == "skipped":
            tally.skip(done.reason or "skipped")
        else:
            tally.done += 1
            if done.kind == "article":
                tally.outcomes["articles"] += 1
            else:
                tally.reject(done.reason or "rejected")
                if done.refused_input or done.reason in LOUD_REASONS:
                    progress.close()
                    print(f"{command}: {_where(done)}: {done.reason}: {done.detail}", file=err, flush=True)
            if done.line is not None:
                print(json.dumps(done.line, ensure_ascii=False, default=str), file=out, flush=True)
        progress.update()

    jobs = list_jobs(options.targets, limits=limits)
    try:
        await run_ordered(iterate_in_thread(jobs, size_of=job_size), start, finish, window=2 * jobs_n)
    finally:
        progress.close()
    print(summary(command, tally), file=err, flush=True)
    return 0


def _where(done: Done) -> str:
    line = done.line or {}
    where = str(line.get("file", "?"))
    if "record" in line:
        where += f"@{line['record']}"
    return where


def summary(command: str, tally: Tally) -> str:
    """`newsflow parse: 12 pages in 3.4 s (3.5/s): 10 articles, 2 rejected (timeout 1, empty-page 1)`."""
    elapsed = tally.elapsed
    text = (f"{command}: {tally.done} pages in {elapsed:.1f} s ({tally.done / elapsed if elapsed else 0:.1f}/s): "
            f"{tally.outcomes['articles']} articles, {tally.outcomes['rejected']} rejected")
    if tally.rejected:
        text += f" ({reasons_text(tally.rejected)})"
    if tally.skipped:
        text += f"; {tally.outcomes['skipped']} archive records skipped ({reasons_text(tally.skipped)})"
    return text
