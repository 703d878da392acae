"""`newsflow`: one command line for running, debugging and operating the pipeline.

    newsflow run SERVICE                  run scraper | parser | enrichment | indexer
    newsflow stack start|stop|status      the local Kafka + Elasticsearch (--brokers 3: a three-node Kafka)
    newsflow stack env [--role R]         credentials of a role as `export` lines (default reader)
    newsflow stack rotate-keys            new passwords for every role
    newsflow crawl URL [--source S] [--force]     ask the scraper to fetch a page now
    newsflow crawl --add-source FILE.yaml          add sources at run time
    newsflow crawl --remove-source NAME | --disable-source NAME | --enable-source NAME
    newsflow parse|enrich FILE_OR_URL [--url URL] | --batch PATH… [--jobs N] [--time-limit S]
    newsflow backfill ARCHIVE… [--sources FILE] [--domain D] [--since/--until DATE] [--resume]
    newsflow dlq list [--stage S] | replay [--stage S] [--reason R]
    newsflow index install|rollover|migrate|status   the Elasticsearch index contract
    newsflow access show|apply            the roles as Kafka ACLs/users and Elasticsearch roles/users
    newsflow search WORDS [--person P] [--quoted P] [--top persons] …

Subcommands import what they need only when they run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
from typing import Any


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


# --------------------------------------------------------------------------- run / stack


def cmd_run(args: argparse.Namespace) -> int:
    import importlib

    from services.common.service_catalogue import BY_NAME

    module = importlib.import_module(BY_NAME[args.service].module)
    module.main()
    return 0


def cmd_stack(args: argparse.Namespace) -> int:
    try:
        from devtools.devstack.__main__ import run
    except ImportError:
        print("newsflow stack: the local Kafka and Elasticsearch are development tooling (devtools/), "
              "not part of this installation; run it from a source checkout", file=sys.stderr)
        return 2
    return run(args)


# --------------------------------------------------------------------------- crawl


def cmd_crawl(args: argparse.Namespace) -> int:
    from schemas.common import utcnow
    from schemas.crawl_request_v1 import CrawlRequestV1
    from schemas.topics import CRAWL_REQUESTS, topic_name
    from services.common.settings import KafkaSettings
    from schemas.sources import SourcesError, load_sources
    from services.scraper.urls import host_key

    kafka = KafkaSettings()
    requests: list[tuple[bytes, CrawlRequestV1]] = []
    if args.add_source:
        try:
            sources = load_sources(args.add_source)
        except SourcesError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for source in sources.sources:
            request = CrawlRequestV1(kind="source", source=source.model_dump(mode="json"), requested_at=utcnow())
            requests.append((source.name.encode(), request))
    for action, names in (("remove", args.remove_source), ("disable", args.disable_source), ("enable", args.enable_source)):
        for name in names or []:
            request = CrawlRequestV1(kind="source", action=action, source_name=name, requested_at=utcnow())
            requests.append((name.encode(), request))
    for url in args.urls:
        if not url.startswith(("http://", "https://")):
            print(f"error: {url!r} is not an http(s) URL", file=sys.stderr)
            return 2
        request = CrawlRequestV1(kind="url", url=url, source_name=args.source, force=args.force, requested_at=utcnow())
        requests.append((host_key(url).encode(), request))
    if not requests:
        print("error: give URLs to fetch, --add-source FILE or --remove/--disable/--enable-source NAME", file=sys.stderr)
        return 2

    async def send() -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(**kafka.aiokafka_kwargs())  # type: ignore[arg-type]
        await producer.start()
        try:
            for key, request in requests:
                await producer.send_and_wait(topic_name(CRAWL_REQUESTS, kafka.topic_namespace), key=key, value=request.model_dump_json().encode())
        finally:
            await producer.stop()

    asyncio.run(send())
    for _, request in requests:
        what = request.url if request.kind == "url" else f"{request.action} {request.source_name or request.source['name']}"  # type: ignore[index]
        print(f"requested: {request.kind} {what}  (trace {request.trace_id})")
    return 0


# --------------------------------------------------------------------------- parse (and enrich)


def _quiet_logs() -> None:
    """Library and pool log lines would interleave with the command's own output: keep them out."""
    from services.common.logs import configure_logging

    configure_logging("cli", level="CRITICAL", fmt="console")  # type: ignore[arg-type]


def cmd_parse(args: argparse.Namespace, stage: str = "parse") -> int:
    from services.batch.pages_command import PagesOptions, run

    _quiet_logs()
    options = PagesOptions(
        stage=stage, targets=args.batch if args.batch else ([args.target] if args.target else []), batch=bool(args.batch),
        jobs=args.jobs, time_limit=args.time_limit, url=args.url, timezone=args.timezone,
        sources_file=args.sources, progress=args.progress,
    )
    if options.batch and args.target:
        options.targets.insert(0, args.target)
    return run(options)


# --------------------------------------------------------------------------- backfill


def cmd_backfill(args: argparse.Namespace) -> int:
    from services.batch.backfill_command import options_from_args, run

    _quiet_logs()
    options = options_from_args(args)
    if isinstance(options, str):
        print(f"newsflow backfill: {options}", file=sys.stderr)
        return 2
    return run(options)


# --------------------------------------------------------------------------- dead letters


def cmd_dlq(args: argparse.Namespace) -> int:
    from schemas.dead_letter_v1 import DeadLetterV1
    from schemas.topics import DEAD_LETTERS, topic_name
    from services.common.settings import KafkaSettings

    kafka = KafkaSettings()
    topic = topic_name(DEAD_LETTERS, kafka.topic_namespace)

    async def read() -> list[DeadLetterV1]:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(topic, **kafka.aiokafka_kwargs(), auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)  # type: ignore[arg-type]
        await consumer.start()
        records: list[DeadLetterV1] = []
        try:
            idle = 0
            while idle < 3:
                batch = await consumer.getmany(timeout_ms=500)
                if not batch:
                    idle += 1
                for messages in batch.values():
                    for message in messages:
                        try:
                            records.append(DeadLetterV1.model_validate_json(message.value))
                        except ValueError:
                            continue
        finally:
            await consumer.stop()
        return [r for r in records if (not args.stage or r.stage == args.stage) and (not args.reason or r.reason == args.reason)]

    records = asyncio.run(read())
    if args.action == "list":
        for r in records:
            print(f"{r.failed_at:%Y-%m-%d %H:%M:%S}  {r.stage:<10} {r.reason:<28} {r.url or r.article_id or ''}  {r.detail[:120]}")
        print(f"{len(records)} dead letter(s)")
        return 0

    async def replay() -> int:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(**kafka.aiokafka_kwargs(), max_request_size=16 * 1024 * 1024)  # type: ignore[arg-type]
        await producer.start()
        sent = 0
        try:
            for r in records:
                value = r.original_value()
                if not r.source_topic or value is None or r.original_truncated:
                    print(f"skipped {r.event_id}: no complete original to replay")
                    continue
                key = base64.b64decode(r.original_key_b64) if r.original_key_b64 else None
                await producer.send_and_wait(r.source_topic, value=value, key=key)
                sent += 1
        finally:
            await producer.stop()
        return sent

    sent = asyncio.run(replay())
    print(f"replayed {sent} message(s) to their original topics")
    return 0


# --------------------------------------------------------------------------- index and search


def _es_client():  # type: ignore[no-untyped-def]
    from elasticsearch import AsyncElasticsearch

    from services.common.settings import ElasticsearchSettings

    settings = ElasticsearchSettings()
    return settings, AsyncElasticsearch(**settings.client_kwargs())  # type: ignore[arg-type]


def cmd_index(args: argparse.Namespace) -> int:
    from services.indexer.migrate import indices_behind, migrate
    from services.indexer.templates import CONTRACT_VERSION, IndexNames, install, rollover

    settings, es = _es_client()
    names = IndexNames(settings.alias)

    async def go() -> int:
        try:
            if args.action == "install":
                created = await install(es, names, replicas=args.replicas)
                print(f"templates installed for alias {names.alias!r}" + (f"; created {names.first_index}" if created else ""))
            elif args.action == "rollover":
                result = await rollover(es, names, max_age=args.max_age, max_primary_shard_size=args.max_size, max_docs=args.max_docs, dry_run=args.dry_run)
                state = "rolled over" if result.get("rolled_over") else "not rolled over (no condition met)"
                print(f"{state}: {result.get('old_index')} → {result.get('new_index')}  conditions: {result.get('conditions') or 'none (forced)'}")
            elif args.action == "migrate":
                old = IndexNames(settings.alias, args.from_version)
                new = IndexNames(settings.alias, args.to_version or CONTRACT_VERSION)
                report = await migrate(es, old, new, replicas=args.replicas)
                print(f"copied {report.copied} documents from {', '.join(report.source_indices) or '(none)'} into {report.target_index}; "
                      f"{report.skipped_newer} already newer there; alias {names.alias!r} now reads {report.target_index}")
            else:
                for alias in (names.alias, names.write_alias):
                    print(f"{alias:<20} → {', '.join(await indices_behind(es, alias)) or '(missing)'}")
                stats = await es.cat.indices(index=f"{names.alias}-v*", format="json", h="index,docs.count,store.size")
                for row in stats:
                    print(f"  {row['index']:<28} {row['docs.count']:>8} docs  {row['store.size']}")
        finally:
            await es.close()
        return 0

    return asyncio.run(go())


def cmd_search(args: argparse.Namespace) -> int:
    from services.indexer.search import build_search, build_top

    settings, es = _es_client()
    query = build_search(
        " ".join(args.text) or None, source=args.source, language=args.language, since=args.since, until=args.until,
        person=args.person, organization=args.organization, location=args.location, quoted=args.quoted, story=args.story,
        phrase=args.phrase,
    )

    async def go() -> dict[str, Any]:
        try:
            return dict(await es.search(
                index=settings.alias, query=query, size=0 if args.top else args.limit,
                aggs=build_top(args.top, args.limit) if args.top else None,
                source=["title", "source", "language", "published_at", "authors", "story_id"],
                sort=[{"published_at": "desc"}] if args.latest else None,
            ))
        finally:
            await es.close()

    result = asyncio.run(go())
    if args.json:
        _print_json(result)
        return 0
    if args.top:
        buckets = result["aggregations"]["top"]["buckets"]
        width = max([len(b["key"]) for b in buckets] + [len(args.top)])
        print(f"{args.top:<{width}}  articles")
        for bucket in buckets:
            print(f"{bucket['key']:<{width}}  {bucket['doc_count']}")
        return 0
    hits = result["hits"]["hits"]
    print(f"{result['hits']['total']['value']} article(s)")
    for hit in hits:
        doc = hit["_source"]
        score = f"{hit['_score']:6.2f}" if hit.get("_score") is not None else "     -"
        title = doc.get("title", "")
        print(f"{score}  {(doc.get('published_at') or '')[:16]:<16}  {doc.get('source', ''):<10} {doc.get('language') or '':<3} {title[:90]}")
    return 0


# --------------------------------------------------------------------------- main


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return number


# The help lines of the commands whose options live in heavier modules (kept equal to theirs by a test).
STATUS_HELP = "per-stage health, throughput, lag, dead letters and freshness"
ACCESS_HELP = "the roles (Kafka ACLs and users, Elasticsearch roles and users): show or apply"


def command_of(argv: list[str]) -> str | None:
    """The subcommand `argv` names (its first word that is not an option), or None."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole CLI, or, given the `command` about to run, with only that command's options loaded.

    `stack`, `status` and `access` take their options from modules that import the schemas, the
    access model and the dev stack (≈ 0.8 s of CPU): a `newsflow parse` over one page should not
    pay for them, so they are registered in full only when they are the command (or for help).
    """
    from services.common.service_catalogue import SERVICE_NAMES

    def wanted(name: str) -> bool:
        return command is None or command == name

    parser = argparse.ArgumentParser(prog="newsflow", description="newsflow: event-driven news ingestion")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one service")
    run.add_argument("service", choices=SERVICE_NAMES)
    run.set_defaults(func=cmd_run)

    stack = sub.add_parser("stack", help="the local Kafka + Elasticsearch: start, stop, status, env (credentials), rotate-keys, broker")
    stack.set_defaults(func=cmd_stack)
    stack_arguments = None
    if wanted("stack"):  # its options are not needed to run another command
        try:  # development tooling: in a source checkout, not in the container image
            from devtools.devstack.__main__ import add_arguments as stack_arguments
        except ImportError:
            pass
    if stack_arguments is None:
        stack.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    else:
        stack_arguments(stack)

    crawl = sub.add_parser("crawl", help="publish crawl requests (URLs or sources) to the scraper")
    crawl.add_argument("urls", nargs="*", metavar="URL")
    crawl.add_argument("--source", help="source the URLs belong to (its politeness and rules apply)")
    crawl.add_argument("--force", action="store_true", help="fetch even if already seen")
    crawl.add_argument("--add-source", metavar="FILE", help="a sources YAML file whose sources to add at run time")
    crawl.add_argument("--remove-source", metavar="NAME", action="append", help="stop crawling a source and forget it (repeatable)")
    crawl.add_argument("--disable-source", metavar="NAME", action="append", help="pause a source: no polls, queued tasks dropped")
    crawl.add_argument("--enable-source", metavar="NAME", action="append", help="resume a disabled source")
    crawl.set_defaults(func=cmd_crawl)

    for name, help_text in (("parse", "parse pages and print each article as JSON"),
                            ("enrich", "parse and enrich pages, print each article as JSON")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("target", nargs="?", metavar="FILE_OR_URL")
        p.add_argument("--url", help="the page's URL (for relative links and the article id)")
        p.add_argument("--batch", nargs="+", metavar="PATH",
                       help="folders, page files (.html, .htm, .html.gz, .html.br …) and WARC archives (.warc, .warc.gz); "
                            "one JSON line per page, in input order")
        p.add_argument("--timezone", help="IANA zone for dates printed without one (e.g. Europe/Moscow)")
        p.add_argument("--jobs", type=_positive_int, help="worker processes (default: one per core)")
        p.add_argument("--time-limit", type=_positive_float, metavar="SECONDS",
                       help="per page; a page over it is reported as `timeout` (default: the service's, "
                            "NEWSFLOW_PARSER_TIME_LIMIT / NEWSFLOW_ENRICHMENT_TIME_LIMIT)")
        p.add_argument("--sources", metavar="FILE", help="sources file: which source an archived page belongs to")
        p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="progress line on stderr (default: only when stderr is a terminal)")
        p.set_defaults(func=(lambda a, stage=name: cmd_parse(a, stage)))

    backfill = sub.add_parser("backfill", help="publish the HTML pages of WARC archives as raw pages (CC-NEWS and the like)")
    backfill.add_argument("archives", nargs="+", metavar="ARCHIVE", help=".warc or .warc.gz files (or folders of them)")
    backfill.add_argument("--sources", metavar="FILE",
                          help="sources file: pages get their source, language and time zone from it, "
                               "and only its domains are kept (unless --all-domains)")
    backfill.add_argument("--all-domains", action="store_true", help="with --sources: keep pages of other domains too")
    backfill.add_argument("--domain", action="append", default=[], metavar="DOMAIN",
                          help="keep only these domains and their subdomains (repeat, or comma-separated)")
    backfill.add_argument("--since", help="keep records fetched at or after this date (2025-10-01 or an ISO time)")
    backfill.add_argument("--until", help="keep records fetched at or before this date")
    backfill.add_argument("--language", action="append", default=[], metavar="CODE",
                          help="keep pages whose language hint is one of these (source, Content-Language or <html lang>)")
    backfill.add_argument("--limit", type=_positive_int, help="stop after publishing this many pages")
    backfill.add_argument("--resume", action="store_true",
                          help="continue each archive after its last published record (from the state file)")
    backfill.add_argument("--state", metavar="FILE", help="the resume state (default: $NEWSFLOW_DATA_DIR/backfill-state.json)")
    backfill.add_argument("--no-index-check", action="store_true",
                          help="publish even what Elasticsearch already holds in the same or a newer copy")
    backfill.add_argument("--jobs", type=_positive_int, help="worker processes for decoding pages (default: one per core)")
    backfill.add_argument("--time-limit", type=_positive_float, default=10.0, metavar="SECONDS",
                          help="per record (charset detection, canonical URL); over it → dead letter `timeout`")
    backfill.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                          help="progress line on stderr (default: only when stderr is a terminal)")
    backfill.add_argument("--wait", type=_positive_float, default=300.0, metavar="SECONDS",
                          help="how long Kafka and Elasticsearch may stay unreachable before the run stops (exit 1)")
    backfill.set_defaults(func=cmd_backfill)

    index = sub.add_parser("index", help="the Elasticsearch index contract: install, rollover, migrate, status")
    index.add_argument("action", choices=["install", "rollover", "migrate", "status"])
    index.add_argument("--replicas", type=int, default=0, help="number_of_replicas for new indices")
    index.add_argument("--max-age", help="rollover: only when the write index is older than this (e.g. 7d)")
    index.add_argument("--max-size", help="rollover: only when a primary shard is larger than this (e.g. 20gb)")
    index.add_argument("--max-docs", type=int, help="rollover: only when the write index holds more documents")
    index.add_argument("--dry-run", action="store_true", help="rollover: check the conditions only")
    index.add_argument("--from-version", type=int, default=1, help="migrate: the contract version to copy from")
    index.add_argument("--to-version", type=int, help="migrate: the new contract version (default: this release's)")
    index.set_defaults(func=cmd_index)

    search = sub.add_parser("search", help="search the articles and print a table")
    search.add_argument("text", nargs="*", help="words to search (morphology-aware: «переговоры» finds «переговорах»)")
    search.add_argument("--phrase", action="store_true", help="the words as an exact phrase")
    search.add_argument("--source")
    search.add_argument("--language")
    search.add_argument("--since", help="published at or after (2025-10-01, now-7d)")
    search.add_argument("--until", help="published at or before")
    search.add_argument("--person", help="articles mentioning this person (normalised name, e.g. «Дмитрий Песков»)")
    search.add_argument("--organization")
    search.add_argument("--location")
    search.add_argument("--quoted", help="articles quoting this person")
    search.add_argument("--story", help="every version of one story (story_id)")
    search.add_argument("--top", choices=["persons", "organizations", "locations", "source", "tags", "keywords", "quote_speakers"],
                        help="instead of articles, the most frequent values among the matching articles")
    search.add_argument("--latest", action="store_true", help="newest first instead of best match first")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--json", action="store_true", help="print Elasticsearch's answer as JSON")
    search.set_defaults(func=cmd_search)

    dlq = sub.add_parser("dlq", help="inspect or replay dead letters")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("--stage", choices=SERVICE_NAMES)
    dlq.add_argument("--reason")
    dlq.set_defaults(func=cmd_dlq)
    if wanted("status"):
        from services.ops.status import add_status_command
        add_status_command(sub)
    else:
        sub.add_parser("status", help=STATUS_HELP, add_help=False)
    if wanted("access"):
        from services.ops.provision import add_access_command
        add_access_command(sub)
    else:
        sub.add_parser("access", help=ACCESS_HELP, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(command_of(argv)).parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
