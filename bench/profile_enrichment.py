"""Where enrichment spends its time, and whether a faster tree still gives the same output.

    python -m bench.profile_enrichment profile [--rounds 3] [--top 30]
    python -m bench.profile_enrichment snapshot OUT.json
    python -m bench.profile_enrichment compare BEFORE.json AFTER.json

The corpus is the 24 sample-site articles of `bench/bench_enrichment.py` plus the
development and held-out sets of `bench/eval_enrichment.py` (never the blind set),
each enriched in this process by `logic.enrich`, as a worker runs it; no Kafka.

- `profile`: cProfile over every article, `rounds` times after a warm-up pass (caches
  filled, as in a long-running worker); prints the time per article of each step and the
  top functions by own and by cumulative time, as markdown.
- `snapshot`: every article's output (entities with mentions, quotes, lemmas, keywords)
  and spaCy's raw analysis of each English field (tokens with POS, morphology, dependency
  and head; entities with labels), as JSON.
- `compare`: which fields differ between two snapshots, and the keywords' agreement: the
  mean overlap@k of the new top-k with the old top-k (k = 5 and 10), and the share of
  articles whose keyword list is identical.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# The steps of `enrich` as functions in the profile: (label, file suffix, function name).
STEPS = (
    ("language detection (lingua)", "enrichment/language.py", "detect"),
    ("Russian NER + morphology (natasha)", "enrichment/entities.py", "RussianNER.analyse"),
    ("English NER + tagger + parser (spaCy)", "enrichment/entities.py", "EnglishNER.analyse"),
    ("entity resolution", "enrichment/entities.py", "resolve"),
    ("quotes and speakers", "enrichment/quotes.py", "extract_quotes"),
    ("lemmas (title + body)", "enrichment/lemmas.py", "lemmatize_text"),
    ("keywords", "enrichment/keywords.py", "extract"),
    ("fingerprint (SimHash)", "enrichment/stories.py", "simhash_hex"),
)


def corpus() -> list[tuple[str, Any]]:
    """(name, ParsedArticleV1) for the sample site, the development and the held-out sets."""
    from bench.bench_enrichment import sample_articles
    from bench.eval_enrichment import CORPUS, HOLDOUT, load_files, parsed_article

    items = [(f"sample/{a.url.rsplit('/', 1)[-1] or a.id}", a) for a in sample_articles()]
    for label, root in (("dev", CORPUS), ("holdout", HOLDOUT)):
        items += [(f"{label}/{item.name}", parsed_article(item.name, item.doc)) for item in load_files(root)]
    return items


def _step_times(stats: pstats.Stats, calls: int) -> list[tuple[str, float]]:
    """Cumulative milliseconds per article of each step in STEPS."""
    out = []
    for label, suffix, name in STEPS:
        owner, _, short = name.rpartition(".")
        total = sum(
            ct for (filename, line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items()  # type: ignore[attr-defined]
            if filename.endswith(suffix) and func.rpartition(".")[2] == short
            and (not owner or _qualname_owner(filename, line) == owner)
        )
        out.append((label, 1000 * total / calls))
    return out


def _qualname_owner(filename: str, line: int) -> str:
    """The class a method at `filename:line` is defined in ('' for a function)."""
    try:
        lines = Path(filename).read_text(encoding="utf-8").splitlines()[:line]
    except OSError:
        return ""
    for text in reversed(lines[:-1]):
        if text.startswith("class "):
            return text[len("class "):].split("(")[0].split(":")[0]
        if text and not text[0].isspace() and not text.startswith(("@", "#")):
            return ""
    return ""


def _top(stats: pstats.Stats, key: str, top: int, calls: int) -> str:
    from bench.scoring import markdown_table

    stats.sort_stats(key)
    rows = []
    for func in stats.fcn_list[:top]:  # type: ignore[attr-defined]
        cc, nc, tt, ct, _ = stats.stats[func]  # type: ignore[attr-defined]
        filename, line, name = func
        where = filename.split("site-packages/")[-1].split("wt-perf/")[-1] if filename != "~" else ""
        rows.append([f"`{name}`", f"{where}:{line}" if where else "(built-in)", nc,
                     f"{1000 * tt / calls:.2f}", f"{1000 * ct / calls:.2f}"])
    return markdown_table(["function", "where", "calls", "own ms/article", "cumulative ms/article"], rows)


def one_thread_math() -> None:
    """One BLAS/OpenMP thread, as in the service's workers (services/common/workers.py sets the
    same in its zygote): on a loaded 2-core machine a second BLAS thread spinning for a core
    makes natasha 2-4x slower and would distort the profile. Call before numpy is imported."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"


def timed_steps(models: Any, items: list[tuple[str, Any]], rounds: int) -> list[tuple[str, float]]:
    """Median over `rounds` of the milliseconds per article of each step, without a profiler:
    each step's function is wrapped with a clock for the measurement, then put back."""
    from services.enrichment import logic

    spent: dict[str, float] = {}

    def clock(label: str, func: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t0
        return timed

    targets = [(models.language, "detect", STEPS[0][0]), (models.russian, "analyse", STEPS[1][0]),
               (models.english, "analyse", STEPS[2][0]), (logic, "resolve", STEPS[3][0]),
               (logic, "extract_quotes", STEPS[4][0]), (models.lemmatizer, "lemmatize_text", STEPS[5][0]),
               (models.keywords, "extract", STEPS[6][0]), (logic, "simhash_hex", STEPS[7][0])]
    saved = [(owner, name, owner.__dict__.get(name)) for owner, name, _ in targets]
    per_round: dict[str, list[float]] = {label: [] for *_, label in targets}
    per_round["whole `enrich`"] = []
    try:
        for owner, name, label in targets:
            setattr(owner, name, clock(label, getattr(owner, name)))
        for _ in range(rounds):
            spent.clear()
            t0 = time.perf_counter()
            for _, article in items:
                logic.enrich(article, models)
            spent["whole `enrich`"] = time.perf_counter() - t0
            for label in per_round:
                per_round[label].append(1000 * spent.get(label, 0.0) / len(items))
    finally:
        for owner, name, original in saved:
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
    return [(label, statistics.median(values)) for label, values in per_round.items()]


def profile(rounds: int = 3, top: int = 30) -> str:
    from bench.scoring import markdown_table
    from services.enrichment.logic import ENRICHMENT_VERSION, enrich, load_models

    items = corpus()
    t0 = time.perf_counter()
    models = load_models()
    load = time.perf_counter() - t0
    for _, article in items:
        enrich(article, models)
    profiler = cProfile.Profile()
    wall = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        profiler.enable()
        for _, article in items:
            enrich(article, models)
        profiler.disable()
        wall.append(time.perf_counter() - t0)
    calls = rounds * len(items)
    stats = pstats.Stats(profiler, stream=io.StringIO())
    languages: dict[str, int] = {}
    for _, article in items:
        detected = models.language.detect(article.body)
        code = detected.code if detected else "?"
        languages[code] = languages.get(code, 0) + 1
    steps = _step_times(stats, calls)
    total = 1000 * statistics.median(wall) / len(items)
    clocked = timed_steps(models, items, rounds)
    whole = clocked[-1][1]
    lines = [
        f"`{ENRICHMENT_VERSION}`; {len(items)} articles ({', '.join(f'{k}: {v}' for k, v in sorted(languages.items()))}):"
        " the sample site, the development and the held-out sets; "
        f"{rounds} rounds after a warm-up pass; model loading {load:.1f} s.",
        "",
        f"One BLAS thread per process, as in the workers. Wall time per article: **{whole:.1f} ms** without the "
        f"profiler, {total:.1f} ms under it (median rounds).",
        "",
        "### Steps of `enrich`, per article, averaged over every language",
        "",
        "Without the profiler (each step's function timed by a clock; median of the rounds), and",
        "under it (cumulative time in cProfile, which inflates pure-Python code more than native code).",
        "",
        markdown_table(["step", "ms/article (clock)", "share", "ms/article (cProfile)", "share"],
                       [[label, f"{ms:.1f}", f"{100 * ms / whole:.0f} %", f"{pms:.1f}", f"{100 * pms / total:.0f} %"]
                        for (label, ms), (_, pms) in zip(clocked, steps)]
                       + [[clocked[-1][0], f"{whole:.1f}", "100 %", f"{total:.1f}", "100 %"]]),
        "",
        f"### Top {top} by own time",
        "",
        _top(stats, "tottime", top, calls),
        "",
        f"### Top {top} by cumulative time",
        "",
        _top(stats, "cumulative", top, calls),
    ]
    return "\n".join(lines)


def _english_raw(models: Any, article: Any) -> dict[str, Any]:
    """spaCy's own analysis of each field of an English article: what the rules read."""
    from services.enrichment.logic import MAX_NLP_CHARS
    from services.enrichment.text import mask_credits

    out = {}
    for field_name, text in (("title", article.title or ""), ("lead", article.lead or ""), ("body", article.body)):
        if not text.strip():
            continue
        doc = models.english.nlp(mask_credits(text[:MAX_NLP_CHARS]))
        out[field_name] = {
            "tokens": [[t.idx, t.text, t.pos_, t.tag_, str(t.morph), t.dep_, t.head.i, t.is_sent_start] for t in doc],
            "ents": [[e.start_char, e.end_char, e.label_] for e in doc.ents],
        }
    return out


def snapshot(path: Path) -> None:
    from services.common.outcomes import Rejected
    from services.enrichment.logic import enrich, load_models

    models = load_models()
    out: dict[str, Any] = {}
    for name, article in corpus():
        enriched = enrich(article, models)
        if isinstance(enriched, Rejected):
            out[name] = {"rejected": enriched.reason}
            continue
        data = enriched.model_dump(mode="json", include={
            "language", "entities", "quotes", "title_lemmas", "body_lemmas", "keywords", "fingerprint", "word_count"})
        if enriched.language == "en":
            data["spacy"] = _english_raw(models, article)
        out[name] = data
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(out)} articles → {path}")


def overlap_at(k: int, before: list[str], after: list[str]) -> float | None:
    """|top-k before ∩ top-k after| / min(k, |before|); None when before is empty."""
    old = before[:k]
    if not old:
        return None
    return len(set(old) & set(after[:k])) / len(old)


def compare(before_path: Path, after_path: Path) -> str:
    from bench.scoring import markdown_table

    before = json.loads(before_path.read_text(encoding="utf-8"))
    after = json.loads(after_path.read_text(encoding="utf-8"))
    differs: dict[str, list[str]] = {}
    for name, old in before.items():
        new = after.get(name, {})
        for key in sorted(set(old) | set(new)):
            if key != "keywords" and old.get(key) != new.get(key):
                differs.setdefault(key, []).append(name)
    rows = [[key, len(before), len(names), ", ".join(names[:5]) + (" …" if len(names) > 5 else "")]
            for key, names in sorted(differs.items())]
    lines = ["### Outputs other than keywords", ""]
    lines.append(markdown_table(["field", "articles", "different", "which"], rows) if rows
                 else f"Identical on all {len(before)} articles: entities, quotes, lemmas, fingerprints, language, "
                      "and spaCy's tokens, tags, morphology, dependencies, heads, sentence starts and entities.")
    lines += ["", "### Keywords: agreement of the new list with the old one", ""]
    table = []
    for label, prefix in (("all", ""), ("sample site", "sample/"), ("development set", "dev/"), ("held-out set", "holdout/")):
        names = [n for n in before if n.startswith(prefix) and before[n].get("keywords")]
        if not names:
            continue
        row: list[object] = [label, len(names)]
        for k in (5, 10):
            values = [v for n in names if (v := overlap_at(k, before[n]["keywords"], after[n].get("keywords") or [])) is not None]
            row.append(f"{statistics.mean(values):.3f}")
        row.append(f"{sum(before[n]['keywords'] == after[n].get('keywords') for n in names)}/{len(names)}")
        table.append(row)
    lines.append(markdown_table(["articles", "n", "overlap@5", "overlap@10", "identical lists"], table))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_enrichment")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("profile")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--top", type=int, default=30)
    s = sub.add_parser("snapshot")
    s.add_argument("out", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    one_thread_math()
    if args.command == "profile":
        print(profile(args.rounds, args.top))
    elif args.command == "snapshot":
        snapshot(args.out)
    else:
        print(compare(args.before, args.after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
