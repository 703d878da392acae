#!/usr/bin/env bash
# Installs the Debian packages the local stack and the test suite use, when missing:
#   maven            fetches Kafka and Elasticsearch from Maven Central
#   hunspell-ru/-en  dictionaries for Elasticsearch's hunspell token filter (morphology)
#   prometheus       real Prometheus + promtool for the operations tests
#   docker-compose   validates deploy/compose/docker-compose.yml offline (`config`)
#   curl             the README's query recipe, run by the test suite against the secured stack
# Idempotent: does nothing when everything is present.
set -euo pipefail

need=()
command -v mvn >/dev/null 2>&1 || need+=(maven)
[ -f /usr/share/hunspell/ru_RU.dic ] || need+=(hunspell-ru)
[ -f /usr/share/hunspell/en_US.dic ] || need+=(hunspell-en-us)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
command -v curl >/dev/null 2>&1 || need+=(curl)

[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "error: missing Debian packages: ${need[*]}; install them (as root: apt-get install ${need[*]})" >&2
  exit 1
fi

echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" >/tmp/newsflow-apt.log 2>&1; then
  "${sudo[@]}" apt-get update -q >>/tmp/newsflow-apt.log 2>&1
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${need[@]}" >>/tmp/newsflow-apt.log 2>&1 || {
    echo "error: apt-get install ${need[*]} failed; see /tmp/newsflow-apt.log" >&2
    tail -20 /tmp/newsflow-apt.log >&2
    exit 1
  }
fi
