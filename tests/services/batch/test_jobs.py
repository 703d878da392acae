"""The command-side helpers of `newsflow parse|enrich|backfill`: listing jobs, reading them ahead, keeping order."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from services.batch.jobs import ArchivedPage, FetchedPage, PageFile, iterate_in_thread, job_size, list_jobs
from services.batch.warc import WarcEntry
from services.common.bounded import PageLimits
from services.common.ordered import run_ordered


async def _collect(items) -> list:  # type: ignore[no-untyped-def]
    return [item async for item in items]


def test_items_are_read_off_the_event_loop_in_chunks_and_none_is_lost_or_reordered() -> None:
    threads: list[str] = []

    def numbers():  # type: ignore[no-untyped-def]
        for n in range(150):
            threads.append(threading.current_thread().name)
            yield n

    got = asyncio.run(_collect(iterate_in_thread(numbers(), chunk=64)))
    assert got == list(range(150))
    assert threading.main_thread().name not in threads  # the blocking reads ran in a thread


def test_read_ahead_stops_at_the_byte_budget_whatever_the_chunk() -> None:
    # Each item says how large it is; with a 10-byte budget a hop may take at most the item that
    # crosses it, so no more than budget + one item is ever held ahead of the consumer.
    pulled: list[int] = []

    def sized():  # type: ignore[no-untyped-def]
        for n in range(20):
            pulled.append(n)
            yield n

    async def first_two() -> list[int]:
        it = iterate_in_thread(sized(), size_of=lambda n: 4, chunk=64, max_bytes=10)
        return [await it.__anext__(), await it.__anext__()]

    assert asyncio.run(first_two()) == [0, 1]
    assert pulled == [0, 1, 2]  # 3 × 4 bytes crossed the 10-byte budget: the hop stopped there


def test_an_error_while_reading_reaches_the_consumer() -> None:
    def broken():  # type: ignore[no-untyped-def]
        yield 1
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        asyncio.run(_collect(iterate_in_thread(broken())))


def test_job_size_counts_the_payload_a_job_holds() -> None:
    entry = WarcEntry(offset=0, record_type="response", url="http://x.test/a", date=None, payload=b"x" * 100)
    assert job_size(ArchivedPage("a.warc", "a.warc", entry)) == 100
    assert job_size(FetchedPage("u", "http://x.test/", None, b"y" * 7)) == 7
    assert job_size(PageFile("/tmp/a.html", "a.html")) == 0


def test_results_come_out_in_input_order_whatever_finishes_first() -> None:
    finished: list[int] = []

    async def start(n: int) -> int:
        await asyncio.sleep(0.01 * (5 - n))  # the first started finishes last
        return n * 10

    async def finish(n: int, result: int) -> None:
        finished.append(result)

    async def main() -> None:
        await run_ordered(iterate_in_thread(iter(range(5))), start, finish, window=5)

    asyncio.run(main())
    assert finished == [0, 10, 20, 30, 40]


def test_a_folder_lists_its_page_files_sorted_and_skips_other_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/2.html", "a.htm", "c.html.gz", "notes.txt"):
        (tmp_path / name).write_bytes(b"<html></html>")
    jobs = list(list_jobs([str(tmp_path)], limits=PageLimits()))
    assert [job.name for job in jobs] == ["a.htm", "b/2.html", "c.html.gz"]
