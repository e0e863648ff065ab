#!/usr/bin/env bash
# Benchmark: `drkit backup postgres-logical` against `pg_dump -Fc -Z0 | zstd -3 > file` on the
# same ~1 GB database (pgbench scale 30 plus a 1.5M-row table with text and jsonb), in the same
# run, median of 3 each, interleaved, after a warm-up round of both. Target ratio
# drkit/reference <= 1.05. Measured twice: the CLI, through its launcher dr-examples/bin/drkit
# (class-data sharing, archived in the warm-up round) as a deployment would (LAUNCHER=plain runs
# `java -jar`), and drkit embedded in a host JVM that already runs (bench/java/EmbeddedBackup.java).
# Starts its own PostgreSQL cluster on a free port (as the postgres user when run as root).
#
#   bench/pg-logical.sh
#   SCALE=10 ROWS=500000 RUNS=5 bench/pg-logical.sh
#   LAUNCHER=plain bench/pg-logical.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
require java bc zstd
build_jar
start_postgres
load_bench_db "${SCALE:-30}" "${ROWS:-1500000}"
size=$("$pgbin/psql" -At -d bench -c "SELECT pg_database_size('bench')")
echo "database: $((size / 1048576)) MiB; $(nproc) cores; $("$pgbin/pg_dump" --version)" >&2

run_ref() {
  local t0; t0=$(now)
  "$pgbin/pg_dump" -Fc -Z0 bench | zstd -3 -q -f -o "$work/ref.dump.zst"
  local t1; t1=$(now)
  ref_size=$(stat -c %s "$work/ref.dump.zst")
  elapsed "$t0" "$t1"
}
run_drkit() {
  rm -rf "$work/repo"
  local t0; t0=$(now)
  drkit_cli -q --repo "$work/repo" backup postgres-logical --name bench \
    --url "jdbc:postgresql://127.0.0.1:$port/bench" --user postgres --bin-dir "$pgbin" >/dev/null
  local t1; t1=$(now)
  dk_size=$(find "$work/repo/backups" -name 'database.dump.zst' -printf '%s\n')
  elapsed "$t0" "$t1"
}

run_ref >/dev/null; run_drkit >/dev/null   # warm-up
ref_times=(); dk_times=()
for i in $(seq "$runs"); do
  ref_times+=("$(run_ref)"); dk_times+=("$(run_drkit)")
  echo "run $i: pg_dump|zstd ${ref_times[-1]}s, drkit ${dk_times[-1]}s" >&2
done
ref=$(median "${ref_times[@]}"); dk=$(median "${dk_times[@]}")

# embedded: the same backup from a host JVM that is already running (no JVM start per backup)
printf '#!/bin/sh\n"%s/pg_dump" -Fc -Z0 bench | zstd -3 -q -f -o "%s"\n' "$pgbin" "$work/emb-ref.dump.zst" >"$work/emb-ref.sh"
read -r emb_ref emb_dk emb_cpu < <(java -cp "$jar" "$here/bench/java/EmbeddedBackup.java" postgres-logical \
  "$work/emb-repo" "$runs" "$work/emb-ref.sh" "url=jdbc:postgresql://127.0.0.1:$port/bench" user=postgres \
  "bin-dir=$pgbin")
printf '\n%-34s %10s %14s\n' "" "median s" "stored MiB"
printf '%-34s %10.2f %14s\n' "pg_dump -Fc -Z0 | zstd -3" "$ref" "$((ref_size / 1048576))"
printf '%-34s %10.2f %14s\n' "drkit backup postgres-logical" "$dk" "$((dk_size / 1048576))"
printf '%-34s %10.2f\n' "pg_dump | zstd (same run as below)" "$emb_ref"
printf '%-34s %10.2f %14s   (drkit CPU %.2f s)\n' "drkit embedded in a running JVM" "$emb_dk" "" "$emb_cpu"
printf '\nratio drkit/reference, CLI (a JVM started per backup): %s (target <= 1.05)\n' "$(echo "scale=3; $dk / $ref" | bc)"
printf 'ratio drkit/reference, embedded in a host JVM:         %s\n' "$(echo "scale=3; $emb_dk / $emb_ref" | bc)"
echo "drkit also counts every table's rows (in the archive as it streams)"
