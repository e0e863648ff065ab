#!/usr/bin/env bash
# Benchmark: the DR drill's database scenarios at production size. Runs
# `drkit drill --database-size SIZE --skip-redis` (default 1GB) RUNS times (default 1) and prints,
# for each run, the load of the machine before and after, how long loading the sample took, where
# each recovery's RTO went (restore, start with WAL replay, validation) and the drill's table.
# Goals on a 2-core machine: RTO <= 60 s for 1 GB, RPO <= 1 s.
#
#   bench/drill-size.sh
#   SIZE=100MB RUNS=2 bench/drill-size.sh
#   KEEP=1 bench/drill-size.sh        # keeps the drill directories (clusters, repository, reports)
set -euo pipefail
source "$(dirname "$0")/common.sh"
require java
build_jar
mkdir -p "$work"
size=${SIZE:-1GB}
runs=${RUNS:-1}
echo "$(nproc) cores; $(java -version 2>&1 | head -1); drill --database-size $size, $runs run(s) in $work" >&2
for i in $(seq "$runs"); do
  dir="$work/drill-$i"
  before=$(uptime)
  t0=$(now)
  status=0
  java -jar "$jar" drill --skip-redis --database-size "$size" --keep --dir "$dir" >"$work/out-$i" 2>"$work/err-$i" \
    || status=$?
  t1=$(now)
  echo
  echo "== run $i of $runs: exit $status, $(printf '%.0f' "$(elapsed "$t0" "$t1")") s in all"
  echo "load before: ${before##*load average: }; after: $(uptime | sed 's/.*load average: //')"
  grep -E '^drill: (sample database .* loaded|RTO )' "$work/err-$i" | sed 's/^drill: /  /' || true
  sed -n '/^SCENARIO/,/^$/p' "$work/out-$i"
  [ -n "${KEEP:-}" ] || rm -rf "$dir"
done
