"""Free-form event fields are validated at the schema: a bad one is a dead letter at decode, not a
surprise deep inside a stage's pure code (a 300-character zone name raised OSError there)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.raw_page_v1 import RawPageV1
from services.common.outcomes import Rejected
from services.common.stage import decode_model

SEED = json.loads((Path(__file__).resolve().parents[2] / "schemas/examples/raw_page.v1/seed-ru.json").read_text())


def decoded(**changes: object) -> RawPageV1 | Rejected:
    return decode_model(RawPageV1, json.dumps({**SEED, **changes}).encode())


def test_the_example_is_valid() -> None:
    assert isinstance(decoded(), RawPageV1)


@pytest.mark.parametrize("zone", ["Europe/Moscow", "UTC", "America/Argentina/Buenos_Aires"])
def test_real_time_zones_pass(zone: str) -> None:
    assert isinstance(decoded(timezone=zone), RawPageV1)


@pytest.mark.parametrize("zone", ["A" * 300, "Europe/Nowhere", "../../etc/passwd", "", "Europe/Moscow\x00"])
def test_a_zone_that_is_not_an_iana_name_is_rejected_at_decode(zone: str) -> None:
    result = decoded(timezone=zone)
    assert isinstance(result, Rejected) and result.reason == "invalid-schema" and "timezone" in result.detail


@pytest.mark.parametrize(("hint", "ok"), [("ru", True), ("en-GB", True), ("zh-Hant-TW", True), ("ru, en", False), ("x" * 40, False), ("русский", False)])
def test_language_hints_are_language_tags(hint: str, ok: bool) -> None:
    assert isinstance(decoded(language_hint=hint), RawPageV1) is ok


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)", "gopher://x/", "https://x.ru/" + "a" * 9000, "https://x.ru/a b"])
def test_urls_are_http_and_bounded(url: str) -> None:
    assert isinstance(decoded(url=url), Rejected)
    assert isinstance(decoded(final_url=url), Rejected)


def test_headers_are_bounded_in_number_and_size() -> None:
    assert isinstance(decoded(headers={f"x-{i}": "v" for i in range(65)}), Rejected)
    assert isinstance(decoded(headers={"content-type": "text/html; " + "a" * 9000}), Rejected)
    assert isinstance(decoded(headers={"content-type": "text/html; charset=utf-8"}), RawPageV1)


def test_the_schemas_package_builds_a_model_only_when_it_is_asked_for() -> None:
    # A parser worker needs two of the six models: importing one must not build the others.
    import subprocess
    import sys

    probe = ("import sys, schemas.raw_page_v1, schemas; print(sorted(m for m in sys.modules if m.startswith('schemas.') "
             "and m.endswith('_v1'))); print(schemas.ParsedArticleV1.__name__, len(schemas.EVENT_MODELS))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "['schemas.raw_page_v1']"
    assert out[1] == "ParsedArticleV1 6"
