"""Moving the articles to a new mapping version with no downtime.

When a release changes the mapping (a new `CONTRACT_VERSION`, e.g. v2), existing
documents must be copied into indices built from the new template. Readers keep
using the `articles` alias throughout:

1. install the v2 templates and create `articles-v2-000001` (not yet readable:
   it leaves the read alias at once);
2. move the write alias to it: from now on new and updated articles land in v2;
3. copy every v1 document into v2 with its external version (`external_gte`), so a
   copy never overwrites an article that was updated in v2 meanwhile;
4. swap the read alias in one atomic action: add v2, remove every v1 index.

Between steps 2 and 4 readers still see v1 (updates made in that window become
visible at the swap). The copy reads with scroll and writes with bulk from this
client, so it also works on clusters without the `reindex` module (such as
Elastic's integ-test zip). The v1 indices stay until you delete them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_bulk, async_scan

from services.indexer.templates import IndexNames


@dataclass
class MigrationReport:
    source_indices: list[str]
    target_index: str
    copied: int
    skipped_newer: int


async def indices_behind(es: AsyncElasticsearch, alias: str) -> list[str]:
    if not await es.indices.exists_alias(name=alias):
        return []
    return sorted(dict(await es.indices.get_alias(name=alias)))


async def migrate(es: AsyncElasticsearch, old: IndexNames, new: IndexNames, *, replicas: int = 0) -> MigrationReport:
    """Copy `old`'s documents into a fresh `new` version and swap the aliases (see module doc)."""
    if old.alias != new.alias or new.version <= old.version:
        raise ValueError("migrate to a higher contract version of the same alias")
    sources = [i for i in await indices_behind(es, old.alias) if i.startswith(f"{old.alias}-v{old.version}-")]
    await install_without_first_index(es, new, replicas=replicas)
    target = new.first_index
    if not await es.indices.exists(index=target):
        await es.indices.create(index=target)
    # New indices join the read alias through the template; hide this one until the swap.
    await es.indices.update_aliases(actions=[
        {"remove": {"index": target, "alias": new.alias, "must_exist": False}},
    ])
    write_actions: list[dict[str, Any]] = [{"add": {"index": target, "alias": new.write_alias, "is_write_index": True}}]
    for index in await indices_behind(es, old.write_alias):
        write_actions.insert(0, {"remove": {"index": index, "alias": old.write_alias}})
    await es.indices.update_aliases(actions=write_actions)
    if sources:
        # Writes before the switch must be visible to the scroll.
        await es.indices.refresh(index=",".join(sources))

    async def copies():  # type: ignore[no-untyped-def]
        for index in sources:
            async for hit in async_scan(es, index=index, query={"query": {"match_all": {}}}, version=True, size=500):
                yield {"_op_type": "index", "_index": target, "_id": hit["_id"], "_source": hit["_source"],
                       "version": hit["_version"], "version_type": "external_gte"}

    copied, errors = await async_bulk(es, copies(), chunk_size=500, raise_on_error=False, stats_only=False)
    skipped = [e for e in errors if next(iter(e.values())).get("status") == 409] if isinstance(errors, list) else []
    failed = [e for e in errors if e not in skipped] if isinstance(errors, list) else []
    if failed:
        raise RuntimeError(f"{len(failed)} documents could not be copied; the read alias was not switched. First: {failed[0]}")
    swap: list[dict[str, Any]] = [{"add": {"index": target, "alias": new.alias}}]
    swap += [{"remove": {"index": index, "alias": old.alias}} for index in sources]
    await es.indices.update_aliases(actions=swap)
    return MigrationReport(sources, target, int(copied), len(skipped))


async def install_without_first_index(es: AsyncElasticsearch, names: IndexNames, *, replicas: int = 0) -> None:
    """Templates only; `install` would also create a first index and point the write alias at it."""
    from services.indexer.templates import component_templates, index_template

    for name, body in component_templates(names, replicas=replicas).items():
        await es.cluster.put_component_template(name=name, template=body["template"])
    body = index_template(names)
    await es.indices.put_index_template(
        name=names.template, index_patterns=body["index_patterns"], composed_of=body["composed_of"],
        priority=body["priority"], template=body["template"], meta=body["_meta"],
    )

