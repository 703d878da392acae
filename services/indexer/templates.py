"""Installing the index contract: component templates, index template, first index, aliases.

Names derive from the read alias (default `articles`):

    component templates  articles-settings-v1, articles-mappings-v1
    index template       articles-v1            (pattern articles-v1-*)
    first index          articles-v1-000001
    read alias           articles               (every articles-v1-* index)
    write alias          articles-write         (exactly one index, is_write_index)

`install` is idempotent: templates are (re)written, the first index and aliases are
created only when the write alias does not exist yet. A new mapping version (v2)
gets its own template and indices; see docs/querying.md for the reindex-and-swap.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elasticsearch import AsyncElasticsearch, BadRequestError

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "schemas" / "elasticsearch"
CONTRACT_VERSION = 1


@dataclass(frozen=True)
class IndexNames:
    alias: str
    version: int = CONTRACT_VERSION

    @property
    def write_alias(self) -> str:
        return f"{self.alias}-write"

    @property
    def template(self) -> str:
        return f"{self.alias}-v{self.version}"

    @property
    def settings_component(self) -> str:
        return f"{self.alias}-settings-v{self.version}"

    @property
    def mappings_component(self) -> str:
        return f"{self.alias}-mappings-v{self.version}"

    @property
    def pattern(self) -> str:
        return f"{self.alias}-v{self.version}-*"

    @property
    def first_index(self) -> str:
        return f"{self.alias}-v{self.version}-000001"


def _load(name: str) -> dict[str, Any]:
    data = json.loads((TEMPLATE_DIR / name).read_text())
    data.pop("_comment", None)
    return data


def component_templates(names: IndexNames, *, replicas: int = 0) -> dict[str, dict[str, Any]]:
    settings = _load("settings.json")
    settings["template"]["settings"]["index"]["number_of_replicas"] = replicas
    return {names.settings_component: settings, names.mappings_component: _load("mappings.json")}


def index_template(names: IndexNames) -> dict[str, Any]:
    return {
        "index_patterns": [names.pattern],
        "composed_of": [names.settings_component, names.mappings_component],
        "priority": 200 + names.version,
        "template": {"aliases": {names.alias: {}}},
        "_meta": {"contract": "newsflow-articles", "contract_version": names.version, "managed_by": "newsflow"},
    }


async def install(es: AsyncElasticsearch, names: IndexNames, *, replicas: int = 0) -> bool:
    """Install templates and, if missing, the first index with both aliases. Returns True if created."""
    for name, body in component_templates(names, replicas=replicas).items():
        await es.cluster.put_component_template(name=name, template=copy.deepcopy(body["template"]))
    body = index_template(names)
    await es.indices.put_index_template(
        name=names.template,
        index_patterns=body["index_patterns"],
        composed_of=body["composed_of"],
        priority=body["priority"],
        template=body["template"],
        meta=body["_meta"],
    )
    if await es.indices.exists_alias(name=names.write_alias):
        return False
    try:
        await es.indices.create(
            index=names.first_index,
            aliases={names.write_alias: {"is_write_index": True}},
        )
    except BadRequestError as exc:
        # Another indexer created it between our check and create.
        if "resource_already_exists_exception" not in str(exc):
            raise
        if not await es.indices.exists_alias(name=names.write_alias):
            await es.indices.put_alias(index=names.first_index, name=names.write_alias, is_write_index=True)
        return False
    return True


async def rollover(es: AsyncElasticsearch, names: IndexNames, *, max_age: str | None = None,
                   max_primary_shard_size: str | None = None, max_docs: int | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Roll the write alias over to a new index when a condition holds (none given: roll now)."""
    conditions: dict[str, Any] = {}
    if max_age:
        conditions["max_age"] = max_age
    if max_primary_shard_size:
        conditions["max_primary_shard_size"] = max_primary_shard_size
    if max_docs:
        conditions["max_docs"] = max_docs
    response = await es.indices.rollover(alias=names.write_alias, conditions=conditions or None, dry_run=dry_run)
    return dict(response)
