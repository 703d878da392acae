# syntax=docker/dockerfile:1
#
# Elasticsearch for newsflow: Elastic's official image plus the Hunspell dictionaries
# the index's morphology needs (schemas/elasticsearch/mappings.json: token filters
# `hunspell` with locales ru_RU and en_US read <config>/hunspell/<locale>/*.{aff,dic}
# on every node; an index created without them fails).
#
#   docker build -f deploy/docker/elasticsearch.Dockerfile -t newsflow-elasticsearch:9.5.4 deploy/docker
#
# Same Elasticsearch version as the local stack (devtools/devstack/stack.py).

ARG ES_VERSION=9.5.4

# Debian's dictionaries (bookworm, the versions the local stack and tests use).
FROM debian:12.11-slim AS dictionaries
RUN apt-get update \
 && apt-get install -y --no-install-recommends hunspell-ru=1:7.5.0-1 hunspell-en-us=1:2020.12.07-2 \
 && rm -rf /var/lib/apt/lists/*
# Dereference links: the image must hold the files themselves, not symlinks into /usr/share.
RUN mkdir -p /hunspell/ru_RU /hunspell/en_US \
 && cp -L /usr/share/hunspell/ru_RU.aff /usr/share/hunspell/ru_RU.dic /hunspell/ru_RU/ \
 && cp -L /usr/share/hunspell/en_US.aff /usr/share/hunspell/en_US.dic /hunspell/en_US/

FROM docker.elastic.co/elasticsearch/elasticsearch:${ES_VERSION}
# The official image runs as uid 1000 (elasticsearch), group 0.
COPY --from=dictionaries --chown=1000:0 /hunspell/ /usr/share/elasticsearch/config/hunspell/
