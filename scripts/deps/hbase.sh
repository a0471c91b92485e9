#!/usr/bin/env bash
# Resolves the runtime classpath of a standalone HBase + Thrift2 server from Maven Central
# (tests/hbase-harness/pom.xml) into a cache dir. Idempotent: skipped when the classpath
# file is newer than the pom and every jar it names is present.
#   PM_HBASE_CACHE  cache dir (default ~/.cache/pixelmill/hbase); holds hbase.cp
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pom=$root/tests/hbase-harness/pom.xml
cache=${PM_HBASE_CACHE:-$HOME/.cache/pixelmill/hbase}
cp_file=$cache/hbase.cp
mkdir -p "$cache"

up_to_date() {
  [ -s "$cp_file" ] && [ "$cp_file" -nt "$pom" ] || return 1
  local jar
  while IFS= read -r jar; do [ -e "$jar" ] || return 1; done < <(tr ':' '\n' < "$cp_file")
}

if up_to_date; then
  echo "hbase.sh: classpath up to date ($cp_file)"
  exit 0
fi
command -v mvn >/dev/null || { echo "hbase.sh: mvn not found (scripts/deps/hbase.txt installs maven)" >&2; exit 1; }
echo "hbase.sh: resolving HBase jars with Maven (first time: a few hundred MB)"
tmp=$cp_file.tmp.$$
# A retry covers a transient registry hiccup; a 'not found' fails both times.
for attempt in 1 2; do
  if mvn -B -q -f "$pom" dependency:build-classpath -Dmdep.outputFile="$tmp" \
      -Dmdep.includeScope=runtime >"$cache/mvn.log" 2>&1; then
    mv "$tmp" "$cp_file"
    echo "hbase.sh: wrote $cp_file ($(tr ':' '\n' < "$cp_file" | wc -l) jars)"
    exit 0
  fi
  echo "hbase.sh: maven failed (attempt $attempt), see $cache/mvn.log" >&2
  sleep 5
done
tail -20 "$cache/mvn.log" >&2
exit 1
