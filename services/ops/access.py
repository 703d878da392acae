"""Who may do what: the roles of a newsflow deployment, as Kafka ACLs and Elasticsearch roles.

Pure functions over the topic catalogue (schemas/topics.py) and the index names
(services/indexer/templates.py naming): the local stack applies them, Compose and
Kubernetes documentation prints them, and a test checks them against the catalogue.

Roles:

    scraper, parser,       one Kafka principal each: read its input topics with its own
    enrichment, indexer    consumer group, write its output topics and the dead-letter
                           topic, own its faust changelog topics (`<group>-*`), create the
                           topics it uses (so a service can start on an empty cluster).
    indexer                also the Elasticsearch role that writes through `<alias>-write`
                           and manages its own templates, aliases and indices.
    operator               `newsflow crawl`, `newsflow dlq list|replay`, `newsflow status`,
                           `newsflow backfill`, `newsflow index install|rollover|migrate|status`,
                           the init job: writes crawl requests, replays dead letters into the
                           topics they came from, publishes backfilled pages (and their dead
                           letters), reads the dead letters, describes every group of the
                           pipeline, creates the catalogue's topics; in Elasticsearch,
                           everything on the alias' own indices and templates.
    reader                 downstream applications: read the `<alias>` alias, nothing else;
                           no Kafka access.

Everything is scoped to one pipeline: a topic namespace (NEWSFLOW_KAFKA_TOPIC_NAMESPACE)
and an index alias (NEWSFLOW_ES_ALIAS). Topics are granted by their literal names in the
namespace; a service's changelogs by the prefix `<group>-`, which faust puts in front of
every table's changelog topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from services.common.service_catalogue import SERVICE_NAMES, group_id
from schemas.topics import CATALOGUE, CRAWL_REQUESTS, DEAD_LETTERS, TopicSpec, consumed_by, produced_by, topic_name, used_by

SERVICE_ROLES: tuple[str, ...] = SERVICE_NAMES
KAFKA_ROLES: tuple[str, ...] = (*SERVICE_ROLES, "operator")
ES_ROLES: tuple[str, ...] = ("reader", "indexer", "operator")
ROLES: tuple[str, ...] = ("reader", "operator", *SERVICE_ROLES)


class ResourceType(IntEnum):
    """Kafka's ResourceType codes (org.apache.kafka.common.resource.ResourceType)."""

    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class PatternType(IntEnum):
    """Kafka's PatternType codes."""

    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    """Kafka's AclOperation codes (the ones newsflow grants)."""

    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8


@dataclass(frozen=True, order=True)
class KafkaAcl:
    """One ALLOW binding: `principal` may `operation` on the resource, from any host."""

    principal: str
    resource_type: ResourceType
    resource_name: str
    pattern_type: PatternType
    operation: Operation

    def describe(self) -> str:
        pattern = "prefixed" if self.pattern_type is PatternType.PREFIXED else "literal"
        return f"{self.principal} {self.operation.name} {self.resource_type.name.lower()} {self.resource_name!r} ({pattern})"

    def kafka_acls_command(self, bootstrap: str = "<bootstrap>") -> str:
        """The same binding as a `kafka-acls.sh` command line (for clusters newsflow does not manage)."""
        resource = {ResourceType.TOPIC: "--topic", ResourceType.GROUP: "--group", ResourceType.CLUSTER: "--cluster"}
        target = resource[self.resource_type] + ("" if self.resource_type is ResourceType.CLUSTER else f" '{self.resource_name}'")
        return (
            f"kafka-acls.sh --bootstrap-server {bootstrap} --command-config admin.properties --add "
            f"--allow-principal '{self.principal}' --operation {self.operation.name.title()} {target} "
            f"--resource-pattern-type {self.pattern_type.name.lower()}"
        )


def kafka_username(role: str, namespace: str = "") -> str:
    """The SCRAM user of a role in a pipeline: `newsflow-<role>`, prefixed `<namespace>.` when namespaced."""
    return f"{namespace}.newsflow-{role}" if namespace else f"newsflow-{role}"


def kafka_acls(role: str, namespace: str = "", *, principal: str | None = None,
               group_override: str | None = None) -> list[KafkaAcl]:
    """The ALLOW bindings of `role` in the pipeline `namespace`, sorted; [] for roles without Kafka access.

    Raises ValueError for an unknown role.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if role == "reader":
        return []
    who = principal or f"User:{kafka_username(role, namespace)}"
    acls: set[KafkaAcl] = set()

    def topic(spec: TopicSpec, *ops: Operation) -> None:
        for op in ops:
            acls.add(KafkaAcl(who, ResourceType.TOPIC, topic_name(spec, namespace), PatternType.LITERAL, op))

    if role == "operator":
        for spec in CATALOGUE:
            # Status reads end offsets of every topic; init creates them; replay writes a dead
            # letter back into the topic it came from, which can be any stage's input; a backfill
            # publishes raw pages and dead-letters what it cannot use.
            topic(spec, Operation.DESCRIBE, Operation.CREATE, Operation.WRITE)
        topic(CRAWL_REQUESTS, Operation.WRITE)
        topic(DEAD_LETTERS, Operation.READ)
        for service in SERVICE_ROLES:
            # `newsflow status` reads every stage's committed offsets (Describe on the group).
            acls.add(KafkaAcl(who, ResourceType.GROUP, group_id(service, namespace), PatternType.LITERAL, Operation.DESCRIBE))
        return sorted(acls)

    for spec in consumed_by(role):
        topic(spec, Operation.READ)
    for spec in produced_by(role):
        topic(spec, Operation.WRITE)
    for spec in used_by(role):
        topic(spec, Operation.CREATE)
    group = group_id(role, namespace, group_override)
    acls.add(KafkaAcl(who, ResourceType.GROUP, group, PatternType.LITERAL, Operation.READ))
    # faust names each table's changelog `<app id>-<table>-changelog`; the app id is the group.
    for op in (Operation.CREATE, Operation.READ, Operation.WRITE, Operation.DESCRIBE):
        acls.add(KafkaAcl(who, ResourceType.TOPIC, f"{group}-", PatternType.PREFIXED, op))
    return sorted(acls)


def index_patterns(alias: str) -> list[str]:
    """Every index name of one alias' contract: read alias, write alias, versioned indices."""
    return [alias, f"{alias}-write", f"{alias}-v*"]


def es_role(role: str, alias: str = "articles") -> dict[str, object] | None:
    """The Elasticsearch role descriptor of `role` for the index alias `alias`; None when the role has none.

    Usable as a role (PUT /_security/role/<name>) or inside an API key's `role_descriptors`.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if role == "reader":
        return {"cluster": [], "indices": [{"names": [alias], "privileges": ["read"]}]}
    if role == "indexer":
        # monitor: the readiness check reads cluster health; manage_index_templates: the indexer
        # installs its own templates at start-up (Elasticsearch cannot scope this to names).
        # read: the version check (mget) across the alias' indices before a write.
        return {
            "cluster": ["monitor", "manage_index_templates"],
            "indices": [{"names": index_patterns(alias), "privileges": ["create_index", "write", "read", "manage"]}],
        }
    if role == "operator":
        return {
            "cluster": ["monitor", "manage_index_templates"],
            "indices": [{"names": index_patterns(alias), "privileges": ["all"]}],
        }
    return None
