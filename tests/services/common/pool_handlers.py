"""Handlers for the worker-pool tests (imported by the pool's zygote by name)."""

from __future__ import annotations

import os
import time
from typing import Any, Callable


def make_handler(ballast_mb: int = 0) -> Callable[[Any], Any]:
    """A handler that obeys its payload: ('echo', x), ('sleep', s), ('raise', msg), ('exit',), ('pid',)."""
    # Stands in for loaded models: memory the zygote fills before forking the workers.
    ballast = bytearray(os.urandom(1024)) * (ballast_mb * 1024) if ballast_mb else bytearray()

    def handle(payload: Any) -> Any:
        kind = payload[0]
        if kind == "echo":
            return payload[1]
        if kind == "sleep":
            time.sleep(payload[1])
            return "slept"
        if kind == "raise":
            raise ValueError(payload[1])
        if kind == "exit":
            os._exit(3)
        if kind == "pid":
            return os.getpid(), len(ballast)
        raise AssertionError(f"unknown payload {payload!r}")

    return handle


def failing_prepare() -> Callable[[Any], Any]:
    raise RuntimeError("the models are missing")


def make_stage_handler() -> Callable[[Any], Any]:
    """A raw-page stage whose behaviour the page's URL picks: slow, die, boom, or fine."""
    from schemas.raw_page_v1 import RawPageV1
    from services.common.stage import StageLogic

    def process(page: RawPageV1) -> RawPageV1:
        if "slow" in page.url:
            time.sleep(60)
        if "die" in page.url:
            os._exit(9)
        if "boom" in page.url:
            raise OSError("a pure function tripped on this page")
        return page

    return StageLogic("parser", RawPageV1, process, key_of=lambda p: p.article_id.encode()).handle


def slow_prepare(seconds: float, marker: str) -> Callable[[Any], Any]:
    """Stands in for models that take `seconds` to load; adds a line to `marker` when done."""
    time.sleep(seconds)
    with open(marker, "a") as out:
        out.write(f"{os.getpid()}\n")
    return make_handler()
