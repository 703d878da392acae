"""The chaos suite's short version (bench/chaos.py; `make chaos` is the long one on three
brokers): a few hundred articles through the four real services on the test stack's single
broker while services and an enrichment worker are killed with -9, a second instance of a
stage joins and leaves, and the write index rolls over. Nothing may be lost or doubled."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos import ChaosOptions, ChaosRun
from devtools.devstack.processes import stop_all
from devtools.devstack.stack import Stack, StackConfig

pytestmark = pytest.mark.slow

SEED = 16


@pytest.mark.timeout(1500)  # start-up, a 120 s fault window and up to 600 s to settle on a busy 2-core machine
async def test_faults_lose_nothing_and_double_nothing(stack: Stack, stack_config: StackConfig, tmp_path: Path) -> None:
    options = ChaosOptions(articles=150, faults=7, seed=SEED, window=120.0, kinds=("kill-service", "kill-worker", "second-instance", "rollover"),
                           bad_events=5, settle_timeout=600.0)
    run = ChaosRun(stack_config, options, tmp_path)
    try:
        verdict, _ = await run.execute()
    finally:
        stop_all(tmp_path)
    kills = [f for f in run.faults if f.kind in ("kill-service", "kill-worker")]
    assert len(run.faults) == 7 and len(kills) >= 5, run.faults
    assert verdict.expected == 150 and not verdict.lost, f"lost: {verdict.lost}"
    assert not verdict.duplicated, f"more than one copy behind the alias: {verdict.duplicated}"
    assert not verdict.stale, f"not at the newest version: {verdict.stale}"
    assert verdict.unexpected_docs == 0
    assert verdict.rejections_found == verdict.expected_rejections == 5
    assert not verdict.unexpected_dead_letters, verdict.unexpected_dead_letters
    assert not verdict.uncommitted, verdict.uncommitted
