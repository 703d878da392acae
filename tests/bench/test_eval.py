"""`make eval`: issue 13's table for the blind set and the first-run record that is written once."""

from __future__ import annotations

from pathlib import Path

import pytest

import bench.eval as evaluation

PARSER_KEYS = ("body_f1_mean", "published_within_1min", "title_exact", "authors_equal", "caption_leakage", "non_articles_rejected")


def reports(ours: float, theirs: float, leakage: tuple[float, float], enrichment: float) -> tuple[dict, dict]:
    def system(value: float, leak: float) -> dict:
        return {**{k: value for k in PARSER_KEYS}, "caption_leakage": leak}

    parser = {"summary": {"blind": {"newsflow": system(ours, leakage[0]), "trafilatura": system(theirs, leakage[1]),
                                    "trafilatura_favor_precision": system(theirs, leakage[1])}}}
    keys = ("speaker_accuracy", "quote_recall", "locations_f1", "persons_f1")
    enrich = {"summary": {"blind_annotated": {k: enrichment for k in keys}, "blind_end_to_end": {k: enrichment for k in keys}}}
    return parser, enrich


def test_targets_are_met_only_when_reached_and_ahead_of_trafilatura() -> None:
    _, records = evaluation.issue13_table(*reports(0.99, 0.5, (0.0, 0.1), 0.95))
    assert all(r["met"] for r in records)
    _, records = evaluation.issue13_table(*reports(0.96, 0.5, (0.0, 0.1), 0.95))
    assert [r["figure"] for r in records if not r["met"]] == ["body F1, mean"]
    _, records = evaluation.issue13_table(*reports(0.99, 0.5, (0.2, 0.1), 0.5))
    assert {r["figure"] for r in records if not r["met"]} == {
        "caption leakage (lower is better)", "speaker accuracy", "quote recall", "LOC F1", "PER F1"}


def test_first_run_record_is_never_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    existing = tmp_path / "eval-blind-first-run"
    existing.with_suffix(".md").write_text("first run\n")
    monkeypatch.setattr(evaluation, "FIRST_RUN", existing)
    monkeypatch.setattr(evaluation, "ROOT", tmp_path)
    ran: list[str] = []
    monkeypatch.setattr(evaluation.importlib, "import_module", lambda name: ran.append(name))
    with pytest.raises(SystemExit):
        evaluation.main(["--record-first-run"])
    assert ran == []
    assert existing.with_suffix(".md").read_text() == "first run\n"
