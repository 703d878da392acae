"""The NLP step's process pool: models loaded once per worker process, work off the event loop.

`EnrichmentPool.enrich(article)` awaits `enrich` running in another process, so the
faust event loop keeps sending heartbeats and committing offsets however long an
article takes (tens of milliseconds usually). Workers are started with "spawn" (a fork
of a process running an event loop and threads is unsafe) and load the models in their
initializer, once.

Failure policy, per article:
- a worker that dies (killed by the OOM killer, a crash in native code) breaks the
  pool: the pool is rebuilt and the article retried once; a second death on the same
  article dead-letters it as `enrichment-crashed` (a poison article must not stop the
  stream);
- an article that takes longer than `timeout` seconds has its workers terminated, the
  pool rebuilt, and is dead-lettered as `enrichment-timeout`.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from services.common.logs import get_logger
from services.common.outcomes import Rejected

if TYPE_CHECKING:
    from schemas.enriched_article_v1 import EnrichedArticleV1
    from schemas.parsed_article_v1 import ParsedArticleV1
    from services.enrichment.logic import Models

log = get_logger(__name__)

_models: Models | None = None


def init_worker() -> None:
    """Process-pool initializer: load every model into this worker process."""
    global _models
    if _models is None:
        # One BLAS thread per worker: parallelism comes from the processes, and N workers
        # each running N BLAS threads would only fight over the cores.
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, "1")
        from services.enrichment.logic import load_models

        _models = load_models()


def enrich_in_worker(article: ParsedArticleV1) -> EnrichedArticleV1 | Rejected:
    """`enrich` with this process's models (loads them on first use if needed)."""
    from services.enrichment.logic import enrich

    init_worker()
    assert _models is not None
    return enrich(article, _models)


def worker_pid() -> int:
    init_worker()
    return os.getpid()


class EnrichmentPool:
    """A ProcessPoolExecutor of `processes` workers, rebuilt when a worker dies."""

    def __init__(self, processes: int = 1, timeout: float = 120.0) -> None:
        self.processes = processes
        self.timeout = timeout
        self._pool: ProcessPoolExecutor | None = None
        self._generation = 0

    def _new_pool(self) -> ProcessPoolExecutor:
        self._generation += 1
        return ProcessPoolExecutor(
            max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker,
        )

    @property
    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = self._new_pool()
        return self._pool

    async def warm_up(self) -> list[int]:
        """Start every worker and wait until its models are loaded; returns their pids."""
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(*(loop.run_in_executor(self.pool, worker_pid) for _ in range(self.processes))))

    def _restart(self, generation: int) -> None:
        if generation != self._generation or self._pool is None:
            return  # another task already rebuilt it
        old, self._pool = self._pool, self._new_pool()
        for process in list(getattr(old, "_processes", {}).values()):  # no public API to stop a busy worker
            if process.is_alive():
                process.terminate()
        old.shutdown(wait=False, cancel_futures=True)

    async def enrich(self, article: ParsedArticleV1) -> EnrichedArticleV1 | Rejected:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            pool = self.pool
            generation = self._generation
            try:
                return await asyncio.wait_for(loop.run_in_executor(pool, enrich_in_worker, article), self.timeout)
            except asyncio.TimeoutError:
                log.error("enrichment timed out; restarting the worker pool", article_id=article.id, timeout=self.timeout)
                self._restart(generation)
                return Rejected("enrichment-timeout", f"enrichment took longer than {self.timeout:.0f} s", article.id, article.url)
            except BrokenProcessPool:
                log.error("an enrichment worker died; restarting the worker pool", article_id=article.id, attempt=attempt)
                self._restart(generation)
        return Rejected("enrichment-crashed", "an enrichment worker process died twice on this article", article.id, article.url)

    def close(self) -> None:
        if self._pool is not None:
            for process in list(getattr(self._pool, "_processes", {}).values()):
                if process.is_alive():
                    process.terminate()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
