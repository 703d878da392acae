"""The crawler's bookkeeping without HTTP: releasing what is due from the `later` state."""

from __future__ import annotations

import time
from typing import Any

from services.scraper.crawler import page_task
from tests.services.scraper.conftest import make_harness


class CountingMapping(dict):  # type: ignore[type-arg]
    """A dict that counts the values read through `items()` and `get()`."""

    reads = 0

    def items(self):  # type: ignore[no-untyped-def, override]
        for pair in super().items():
            self.reads += 1
            yield pair

    def get(self, key: Any, default: Any = None) -> Any:
        self.reads += 1
        return super().get(key, default)


async def test_release_reads_only_what_is_due_not_the_whole_later_state() -> None:
    h = make_harness({"sources": []})
    later = h.crawler.later = CountingMapping()
    now = int(time.time())
    for i in range(5000):
        later[f"r:{i}"] = {"t": page_task(f"https://x.example/{i}", "x").model_dump(mode="json"), "at": now + 3600, "l": now}
    later["r:due"] = {"t": page_task("https://x.example/due", "x").model_dump(mode="json"), "at": now - 5, "l": now}
    h.crawler.reindex_later()
    assert await h.crawler.release_due() == 1, "the due task is published (the index is built with one scan)"
    assert h.queue.get_nowait().url == "https://x.example/due"
    later.reads = 0
    assert await h.crawler.release_due() == 0, "a released task is not published again for the same due time"
    for _ in range(10):
        await h.crawler.release_due()
    assert later.reads == 0, "releases between re-indexes read nothing that is not due"
    h.crawler._later_put("r:soon", {"t": page_task("https://x.example/soon", "x").model_dump(mode="json"), "at": now - 1, "l": now})
    assert await h.crawler.release_due() == 1 and later.reads == 1, "a task written by the crawler is released with one read"
    await h.crawler.close()
