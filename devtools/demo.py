"""`make demo`: the whole pipeline on the bundled sample site.

Starts Kafka and Elasticsearch (secured: HTTPS, SASL/SCRAM, a user per role), serves
the sample site on 127.0.0.1:8800 (NEWSFLOW_SAMPLESITE_PORT), starts the four services
(ports NEWSFLOW_<SERVICE>_HTTP_PORT, default 8101-8104), each with its own role's
credentials, waits until every sample article is searchable, then prints what was
indexed and example searches, made as the `reader` role a downstream application
gets. Everything is left running so you can query Elasticsearch at
https://127.0.0.1:9200 (alias `articles`) with the reader credential
(`eval "$(.venv/bin/newsflow stack env)"`); `make down` stops it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from elasticsearch import Elasticsearch

from services.common.ids import article_id
from devtools.devstack.pipeline import Pipeline
from devtools.devstack.processes import ManagedProcess, default_run_dir, wait_http_ok
from devtools.devstack.stack import Stack, StackConfig, StackError
from devtools.samplesite.server import load_manifest
from devtools.samplesite.sources import sample_sources
from services.scraper.decisions import dedup_key

SAMPLE_PORT = int(os.environ.get("NEWSFLOW_SAMPLESITE_PORT", "8800"))


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(out)


def clip(text: str | None, width: int) -> str:
    text = text or ""
    return text if len(text) <= width else text[: width - 1] + "…"


def query_hint(cfg: StackConfig) -> str:
    """How a person queries the demo's index with the reader credential (the README says the same)."""
    instance = "" if cfg.instance == "dev" else f" --instance {cfg.instance}"
    return (
        f'  eval "$(.venv/bin/newsflow stack env{instance})"     # NEWSFLOW_ES_URL, _USERNAME, _PASSWORD, _CA_CERTS of the reader\n'
        '  curl --cacert "$NEWSFLOW_ES_CA_CERTS" -u "$NEWSFLOW_ES_USERNAME:$NEWSFLOW_ES_PASSWORD" \\\n'
        '       -G "$NEWSFLOW_ES_URL/articles/_search" --data-urlencode "q=body:переговоры" -d size=3\n'
        "  .venv/bin/newsflow search переговоры                  # the same credential, read from the environment\n"
        "Other roles: newsflow stack env --role operator|scraper|parser|enrichment|indexer; "
        "new passwords for all: newsflow stack rotate-keys."
    )


def down(cfg: StackConfig) -> None:
    run_dir = default_run_dir(cfg.instance)
    pipeline = Pipeline(cfg, run_dir=run_dir)
    pipeline.stop()
    ManagedProcess("samplesite", run_dir).stop()
    Stack(cfg).stop()
    print("stopped the services, the sample site, Kafka and Elasticsearch")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo")
    parser.add_argument("--down", action="store_true", help="stop everything the demo started")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for every article")
    args = parser.parse_args(argv)
    cfg = StackConfig.from_env("dev")
    if args.down:
        down(cfg)
        return 0

    print(f"[1/4] Kafka {cfg.kafka_version} and Elasticsearch {cfg.es_version} on 127.0.0.1 (first run downloads them) …", flush=True)
    try:
        Stack(cfg).start(wait=True)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    run_dir = default_run_dir(cfg.instance)
    base = f"http://127.0.0.1:{SAMPLE_PORT}"
    print(f"[2/4] sample news site on {base} …", flush=True)
    ManagedProcess("samplesite", run_dir).start({}, ["--port", str(SAMPLE_PORT)])
    if not wait_http_ok(base + "/robots.txt", 30):
        print(f"error: the sample site did not start; see {run_dir / 'logs' / 'samplesite.log'}", file=sys.stderr)
        return 2

    manifest = load_manifest()
    pipeline = Pipeline(cfg, run_dir=run_dir)
    pipeline.write_sources(sample_sources(base, manifest))
    print("[3/4] scraper, parser, enrichment and indexer …", flush=True)
    pipeline.start()
    try:
        pipeline.wait_ready(timeout=180)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    expected = {article_id(dedup_key(base + page.path)): page for page in manifest.articles()}
    reader = cfg.role_credentials("reader")
    es = Elasticsearch(cfg.es_url, ca_certs=str(cfg.ca_cert), basic_auth=(reader.es_username, reader.es_password),  # type: ignore[arg-type]
                       request_timeout=30)
    print(f"[4/4] crawling {len(expected)} sample articles into Elasticsearch (alias 'articles') …", flush=True)
    deadline = time.monotonic() + args.timeout
    found = 0
    while time.monotonic() < deadline:
        try:
            # No explicit refresh: the reader may only read; documents show within the 1 s refresh.
            found = es.count(index="articles", query={"ids": {"values": list(expected)}})["count"]
        except Exception:  # noqa: BLE001 - the index appears a moment after the indexer starts
            found = 0
        print(f"\r      searchable: {found}/{len(expected)}", end="", flush=True)
        if found == len(expected):
            break
        time.sleep(1)
    print()
    if found < len(expected):
        print(f"error: only {found} of {len(expected)} articles arrived in {args.timeout:.0f}s; logs in {run_dir / 'logs'}", file=sys.stderr)
        return 1

    hits = es.search(index="articles", size=100, sort=[{"published_at": "desc"}],
                     source=["title", "source", "language", "published_at", "authors", "word_count"],
                     query={"ids": {"values": list(expected)}})["hits"]["hits"]
    rows = [[h["_source"]["source"], h["_source"].get("language") or "", (h["_source"].get("published_at") or "")[:16],
             clip(", ".join(h["_source"].get("authors") or []), 24), clip(h["_source"]["title"], 70)] for h in hits]
    print("\nIndexed articles:\n" + table(rows, ["source", "lang", "published", "authors", "title"]))

    def show(label: str, query: dict, fields: tuple[str, ...] = ("title", "published_at")) -> None:  # type: ignore[type-arg]
        result = es.search(index="articles", query=query, size=5, source=list(fields))
        print(f"\nSearch: {label} — {result['hits']['total']['value']} hit(s)")
        for hit in result["hits"]["hits"]:
            print(f"  {hit['_score']:6.2f}  {hit['_source'].get('published_at', '')[:16]}  {hit['_source']['title']}")

    show("Алиев", {"multi_match": {"query": "Алиев", "fields": ["title^2", "body"]}})
    show("переговорами (morphology: the articles say «переговорах», «переговоров», «переговоры»)", {"match": {"body": "переговорами"}})
    show("articles quoting Мария Захарова", {"nested": {"path": "quotes", "query": {"term": {"quotes.speaker": "Мария Захарова"}}}})
    top = es.search(index="articles", size=0, aggs={"p": {"terms": {"field": "persons", "size": 5}}})["aggregations"]["p"]["buckets"]
    print("\nMost mentioned people: " + ", ".join(f"{b['key']} ({b['doc_count']})" for b in top))
    stories = es.search(index="articles", size=0, aggs={"s": {"terms": {"field": "story_id", "min_doc_count": 2}}})["aggregations"]["s"]["buckets"]
    for bucket in stories:
        titles = es.search(index="articles", query={"term": {"story_id": bucket["key"]}}, source=["source", "title"])["hits"]["hits"]
        print(f"Story {bucket['key']} told by {len(titles)} outlets: " + " | ".join(f"{h['_source']['source']}: {h['_source']['title']}" for h in titles))

    print(
        f"\nThe stack keeps running: Elasticsearch at {cfg.es_url} (alias 'articles'), Kafka at {cfg.kafka_bootstrap}, "
        f"metrics at http://127.0.0.1:{pipeline.ports['scraper']}..{pipeline.ports['indexer']}/metrics. "
        "Stop it all with `make down`.\n"
        f"\nQuery it as the read-only `reader` role (CA certificate: {cfg.ca_cert}):\n"
        + query_hint(cfg)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
