#!/bin/sh
# Entrypoint of the newsflow image.
#   (no arguments)                         newsflow run "$NEWSFLOW_SERVICE"
#   scraper | parser | enrichment | indexer   newsflow run <that service>
#   anything else                          run it as given (python -m services.ops.init, newsflow status, ...)
# `exec` hands PID 1 to the service so SIGTERM reaches faust's graceful shutdown.
set -eu

if [ "$#" -eq 0 ]; then
  if [ -z "${NEWSFLOW_SERVICE:-}" ]; then
    echo "newsflow: set NEWSFLOW_SERVICE to scraper, parser, enrichment or indexer, or pass the service (or a command) as arguments" >&2
    exit 64
  fi
  exec newsflow run "$NEWSFLOW_SERVICE"
fi

case "$1" in
  scraper|parser|enrichment|indexer)
    NEWSFLOW_SERVICE="$1"
    export NEWSFLOW_SERVICE
    exec newsflow run "$1"
    ;;
  *)
    exec "$@"
    ;;
esac
