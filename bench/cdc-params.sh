#!/usr/bin/env bash
# Measurement for the chunk store's chunk sizes: cuts two pg_dump archives (before and after a
# change) with the content-defined chunker at several min/avg/max settings and prints, for each,
# the chunk counts, the bytes of the second dump that are not in the first dump's chunks (raw,
# and as standalone zstd -3 frames as the chunk store stores them) and the chunking rate on one
# core; then what `restic backup --stdin` adds for the second dump after the first, and the
# chunker's rate over 1 GiB of random data and of the dump. Not a pass/fail benchmark.
#
# Without arguments it builds the bench database of bench/pg-logical.sh (pgbench scale SCALE
# plus ROWS documents) on its own PostgreSQL cluster and compares two changes, each against the
# dump before it: 1% of pgbench_accounts rows updated as one range, then 1% scattered (every
# 100th row).
#
#   bench/cdc-params.sh
#   SCALE=10 ROWS=500000 bench/cdc-params.sh
#   SETTINGS="256/1024/4096 512/1024/8192" bench/cdc-params.sh first.dump second.dump
set -euo pipefail
source "$(dirname "$0")/common.sh"
require java restic
settings=${SETTINGS:-"64/256/1024 128/512/2048 256/1024/4096 512/1024/8192 512/2048/8192"}

(cd "$here" && mvn -o -q -B -pl dr-core -am -DskipTests test-compile)
(cd "$here" && mvn -o -q -B -pl dr-core dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$work/cp.txt" >/dev/null)
cp="$here/dr-core/target/classes:$here/dr-core/target/test-classes:$(cat "$work/cp.txt")"
bench() { java -Xmx6g -cp "$cp" dev.drkit.internal.pipeline.CdcParamsBench "$@"; }

# restic_growth FIRST SECOND: bytes restic's repository grows by for SECOND after FIRST
restic_growth() {
  local repo="$work/restic"
  rm -rf "$repo"
  printf 'throwaway-bench-password\n' > "$work/restic-password"
  chmod 600 "$work/restic-password"
  export RESTIC_PASSWORD_FILE="$work/restic-password"
  restic --no-cache -q -r "$repo" init >/dev/null
  restic --no-cache -q -r "$repo" backup --stdin --stdin-filename db.dump < "$1"
  local before; before=$(du -sb "$repo" | cut -f1)
  restic --no-cache -r "$repo" backup --stdin --stdin-filename db.dump < "$2" | grep -i 'added to the' >&2 || true
  local after; after=$(du -sb "$repo" | cut -f1)
  echo $((after - before))
}

compare() { # FIRST SECOND TITLE
  echo
  echo "== $3"
  # shellcheck disable=SC2086
  bench dedup "$1" "$2" $settings
  local grown; grown=$(restic_growth "$1" "$2")
  printf 'restic %s: repository grew by %d KiB for the second dump\n' "$(restic version | cut -d' ' -f2)" $((grown / 1024))
}

if [ $# -eq 2 ]; then
  compare "$1" "$2" "$(basename "$1") -> $(basename "$2")"
  bench speed random 1024
  bench speed "$2" 1024
  exit 0
fi

scale=${SCALE:-30}
start_postgres
load_bench_db "$scale" "${ROWS:-1500000}"
sql() { "$pgbin/psql" -q -d bench -c "$1" >/dev/null; }
accounts=$((scale * 100000))
dump() { "$pgbin/pg_dump" -Fc -Z0 bench > "$work/$1"; } # to a pipe, as the postgres-logical target runs it

dump 0.dump
sql "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= $((accounts / 100))"
dump 1.dump
sql "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0"
dump 2.dump
size=$("$pgbin/psql" -At -d bench -c "SELECT pg_database_size('bench')")
echo "database: $((size / 1048576)) MiB;" \
  "dump $(($(stat -c %s "$work/0.dump") / 1048576)) MiB; $("$pgbin/pg_dump" --version); $(nproc) cores" >&2

compare "$work/0.dump" "$work/1.dump" "1% of pgbench_accounts updated as one range (aid <= $((accounts / 100)))"
compare "$work/1.dump" "$work/2.dump" "1% of pgbench_accounts updated scattered (every 100th aid)"
echo
bench speed random 1024
bench speed "$work/0.dump" 1024
