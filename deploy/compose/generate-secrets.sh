#!/usr/bin/env bash
# Random passwords for deploy/compose/docker-compose.yml, one file per secret, in
# deploy/compose/secrets/ (git-ignored). The folder is 0700, so no other user of the host
# can read them; the files are 0644 because Compose bind-mounts each one as it is, and the
# containers read them as their own unprivileged users. Existing files are kept: run it again
# after adding a secret. To change a role's password, replace its file and run
#   docker compose -f deploy/compose/docker-compose.yml run --rm provision
# then restart that role's service. (kafka-admin, kafka-broker, kafka-controller and
# es-elastic are read when Kafka's storage and Elasticsearch's data are first created.)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p secrets
chmod 700 secrets
umask 022
for name in kafka-admin kafka-broker kafka-controller \
            kafka-scraper kafka-parser kafka-enrichment kafka-indexer kafka-operator \
            es-elastic es-reader es-indexer es-operator grafana-admin; do
  file="secrets/${name}.password"
  if [ ! -s "$file" ]; then
    # 32 random bytes, URL-safe base64 without padding: no quoting trouble anywhere.
    head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' > "$file"
    echo "created $file"
  fi
done
