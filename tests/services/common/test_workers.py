"""The killable worker pool: time limits, crashes, shared memory, and death with the service."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from services.common.workers import PoolUnavailable, WorkerCrashed, WorkerPool, WorkFailed, WorkTimedOut

HANDLERS = "tests.services.common.pool_handlers:make_handler"
ROOT = Path(__file__).resolve().parents[3]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def started(size: int = 2, time_limit: float = 5.0, ballast_mb: int = 0) -> WorkerPool:
    pool = WorkerPool("test", HANDLERS, (ballast_mb,), size=size, time_limit=time_limit)
    await pool.start()
    return pool


async def test_results_and_handler_errors_come_back() -> None:
    pool = await started()
    try:
        assert await pool.run(("echo", {"a": [1, 2]})) == {"a": [1, 2]}
        with pytest.raises(WorkFailed) as failed:
            await pool.run(("raise", "bad page"))
        assert failed.value.remote_type == "ValueError" and "bad page" in str(failed.value)
        assert "pool_handlers.py" in failed.value.remote_traceback
        assert pool.replaced == 0  # an exception is not a reason to replace the worker
    finally:
        pool.close()


async def test_a_call_over_the_limit_is_killed_and_the_pool_goes_on() -> None:
    pool = await started(size=1, time_limit=0.5)
    try:
        before = pool.pids
        with pytest.raises(WorkTimedOut):
            await pool.run(("sleep", 60))
        assert not alive(before[0])
        assert pool.pids != before and pool.replaced == 1
        assert await pool.run(("echo", "next")) == "next"
    finally:
        pool.close()


async def test_a_worker_that_dies_is_replaced() -> None:
    pool = await started(size=1)
    try:
        with pytest.raises(WorkerCrashed):
            await pool.run(("exit",))
        assert await pool.run(("echo", 1)) == 1
        victim = pool.pids[0]
        os.kill(victim, signal.SIGKILL)  # killed from outside while idle
        with pytest.raises(WorkerCrashed):
            await pool.run(("echo", 2))
        assert await pool.run(("echo", 3)) == 3
    finally:
        pool.close()


async def test_calls_run_in_parallel_on_every_worker() -> None:
    pool = await started(size=2)
    try:
        pids = await asyncio.gather(*(pool.run(("pid",)) for _ in range(6)))
        assert {pid for pid, _ in pids} <= set(pool.pids)
        results = await asyncio.gather(pool.run(("sleep", 0.3)), pool.run(("sleep", 0.3)))
        assert results == ["slept", "slept"]
    finally:
        pool.close()


async def test_a_lost_zygote_is_started_again() -> None:
    pool = await started(size=1)
    try:
        zygote, (worker,) = pool.zygote_pid, pool.pids
        assert zygote is not None
        os.kill(zygote, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(worker), "a worker outlived its zygote"
        with pytest.raises(WorkerCrashed):
            await pool.run(("echo", 1))  # the call finds its worker gone; the replacement needs a new zygote
        assert pool.zygote_pid not in (None, zygote)
        assert await pool.run(("echo", "ok")) == "ok"
    finally:
        pool.close()


async def test_a_failing_prepare_refuses_to_start() -> None:
    pool = WorkerPool("test", "tests.services.common.pool_handlers:failing_prepare")
    with pytest.raises(PoolUnavailable, match="the models are missing"):
        await pool.start()
    pool.close()


def private_kib(pid: int) -> int:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
    return int(fields["Private_Dirty"].split()[0]) + int(fields["Private_Clean"].split()[0])


async def test_workers_share_what_the_zygote_loaded() -> None:
    pool = await started(size=2, ballast_mb=200)
    try:
        for _ in range(4):
            _, size = await pool.run(("pid",))
            assert size == 200 * 1024 * 1024
        # Each worker holds the 200 MB ballast, yet owns only a small private part of it.
        for pid in pool.pids:
            assert private_kib(pid) < 60 * 1024, f"worker {pid} copied the shared memory"
    finally:
        pool.close()


def test_workers_die_with_a_service_killed_by_sigkill(tmp_path: Path) -> None:
    script = tmp_path / "service.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio, sys
        from services.common.workers import WorkerPool
        async def main():
            pool = WorkerPool("test", {HANDLERS!r}, (0,), size=2)
            await pool.start()
            print("PIDS", pool.zygote_pid, *pool.pids, flush=True)
            asyncio.get_running_loop().create_task(pool.run(("sleep", 60)))
            await asyncio.sleep(120)
        asyncio.run(main())
    """))
    service = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = ""
        while not line.startswith("PIDS"):
            line = service.stdout.readline()  # type: ignore[union-attr]
            assert line, "the service exited before its pool was ready"
        pids = [int(p) for p in line.split()[1:]]
        assert len(pids) == 3 and all(alive(p) for p in pids)
        time.sleep(0.3)  # one worker is now busy with the 60 s call
        service.send_signal(signal.SIGKILL)
        service.wait(10)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(p) for p in pids), "a worker process outlived its service"
    finally:
        service.kill()


async def test_a_launched_pool_prepares_while_the_caller_does_other_work(tmp_path: Path) -> None:
    # The enrichment launches its pool before faust restores its tables, so the models load
    # during the restore instead of after it.
    marker = tmp_path / "prepared"
    pool = WorkerPool("test", "tests.services.common.pool_handlers:slow_prepare", (1.5, str(marker)), size=1)
    pool.launch()
    try:
        zygote = pool.zygote_pid
        assert zygote is not None and not pool.ready
        await asyncio.sleep(3.0)  # the caller's own start-up
        assert marker.exists(), "prepare ran before start() was awaited"
        await pool.start()
        assert pool.zygote_pid == zygote and pool.ready
        assert marker.read_text().split() == [str(zygote)], "start() prepared once more"
        assert await pool.run(("echo", 1)) == 1
    finally:
        pool.close()


async def test_a_worker_is_replaced_by_a_fresh_fork_after_its_quota_of_calls() -> None:
    pool = WorkerPool("test", HANDLERS, (0,), size=1, time_limit=5.0, recycle_after=3)
    await pool.start()
    try:
        pids = [(await pool.run(("pid",)))[0] for _ in range(7)]
        # Calls 1–3 on the first worker, 4–6 on its replacement, 7 on the third.
        assert len(set(pids[:3])) == 1 and len(set(pids[3:6])) == 1 and pids[0] != pids[3] != pids[6]
        assert not alive(pids[0])
        assert pool.recycled == 2 and pool.replaced == 0
        assert await pool.run(("echo", "still answering")) == "still answering"
    finally:
        pool.close()
