#!/usr/bin/env bash
# Benchmark: deduplicated storage (`backup postgres-logical --dedup`) on the ~1 GB bench database
# of bench/pg-logical.sh. Two measurements, in the same run:
#
# 1. Growth: a backup into a deduplicating repository, then 1% of pgbench_accounts rows updated
#    (scattered: every 100th aid), then a second backup; what the repository grew by for the
#    second backup, against `restic backup --stdin` of `pg_dump -Fc -Z0` dumps of the same two
#    states (restic compresses with zstd too). Target ratio drkit/restic <= 1.5.
# 2. Time: the first (everything new) deduplicated backup into an empty repository against
#    `pg_dump -Fc -Z0 | zstd -3 > file`, median of RUNS each, interleaved, after a warm-up round
#    of both, through the CLI and embedded in a running JVM (bench/java/EmbeddedBackup.java).
#    Target ratio <= 1.15. The second backup's time is printed too.
#
# 3. With REDIS=1 also: a Redis server of KEYS (3M) keys, a deduplicated snapshot, 1% of the
#    keys (chosen at random) changed, a second snapshot: what the second one stored against the
#    first (the issue's goal is <= 5%; see the README for why scattered changes defeat chunking;
#    bench/redis-delta.sh measures incremental backups, the key-level deltas that meet it).
#
#   bench/dedup.sh
#   SCALE=10 ROWS=500000 RUNS=3 bench/dedup.sh
#   REDIS=1 bench/dedup.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
require java bc zstd restic
build_jar
scale=${SCALE:-30}
start_postgres
load_bench_db "$scale" "${ROWS:-1500000}"
size=$("$pgbin/psql" -At -d bench -c "SELECT pg_database_size('bench')")
echo "database: $((size / 1048576)) MiB; $(nproc) cores; $("$pgbin/pg_dump" --version); $(restic version | cut -d' ' -f1-2)" >&2
accounts=$((scale * 100000))

backup() { # REPO: prints the seconds the backup took
  local t0; t0=$(now)
  drkit_cli --repo "$1" backup postgres-logical --name bench --dedup \
    --url "jdbc:postgresql://127.0.0.1:$port/bench" --user postgres --bin-dir "$pgbin" > "$work/out.txt"
  local t1; t1=$(now)
  head -1 "$work/out.txt" >&2
  elapsed "$t0" "$t1"
}
repo_bytes() { du -sb "$1" | cut -f1; }
run_ref() {
  local t0; t0=$(now)
  "$pgbin/pg_dump" -Fc -Z0 bench | zstd -3 -q -f -o "$work/ref.dump.zst"
  local t1; t1=$(now)
  elapsed "$t0" "$t1"
}

# --- 2. time (before the update, so both measure the same database) ---
run_ref >/dev/null; rm -rf "$work/t"; backup "$work/t" >/dev/null   # warm-up
ref_times=(); dk_times=()
for i in $(seq "$runs"); do
  ref_times+=("$(run_ref)")
  rm -rf "$work/t"; dk_times+=("$(backup "$work/t")")
  echo "run $i: pg_dump|zstd ${ref_times[-1]}s, drkit --dedup (empty repository) ${dk_times[-1]}s" >&2
done
ref=$(median "${ref_times[@]}"); dk=$(median "${dk_times[@]}")
ref_size=$(stat -c %s "$work/ref.dump.zst")
rm -rf "$work/t"
# the same, embedded in a host JVM that already runs (no JVM start per backup), each backup into
# an empty repository
printf '#!/bin/sh\n"%s/pg_dump" -Fc -Z0 bench | zstd -3 -q -f -o "%s"\n' "$pgbin" "$work/emb-ref.dump.zst" >"$work/emb-ref.sh"
read -r emb_ref emb_dk emb_cpu < <(EMBEDDED_FRESH=1 java -cp "$jar" "$here/bench/java/EmbeddedBackup.java" \
  postgres-logical "$work/emb-repo" "$runs" "$work/emb-ref.sh" "url=jdbc:postgresql://127.0.0.1:$port/bench" \
  user=postgres "bin-dir=$pgbin" dedup=true)
rm -rf "$work/emb-repo"

# --- 1. growth ---
printf 'throwaway-bench-password\n' > "$work/restic-password"; chmod 600 "$work/restic-password"
export RESTIC_PASSWORD_FILE="$work/restic-password"
restic --no-cache -q -r "$work/restic" init >/dev/null
repo="$work/repo"
first_time=$(backup "$repo")
first_bytes=$(repo_bytes "$repo")
"$pgbin/pg_dump" -Fc -Z0 bench | restic --no-cache -q -r "$work/restic" backup --stdin --stdin-filename bench.dump
restic_first=$(repo_bytes "$work/restic")

"$pgbin/psql" -q -d bench -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0" >/dev/null
second_time=$(backup "$repo")
second_growth=$(($(repo_bytes "$repo") - first_bytes))
"$pgbin/pg_dump" -Fc -Z0 bench | restic --no-cache -q -r "$work/restic" backup --stdin --stdin-filename bench.dump
restic_growth=$(($(repo_bytes "$work/restic") - restic_first))

printf '\n%-44s %12s %12s\n' "" "seconds" "stored KiB"
printf '%-44s %12.2f %12s\n' "pg_dump -Fc -Z0 | zstd -3 (median)" "$ref" "$((ref_size / 1024))"
printf '%-44s %12.2f %12s\n' "drkit --dedup, empty repository (median)" "$dk" "$((first_bytes / 1024))"
printf '%-44s %12.2f %12s\n' "drkit --dedup, after 1% of rows updated" "$second_time" "$((second_growth / 1024))"
printf '%-44s %12s %12s\n' "restic backup --stdin, first" "" "$((restic_first / 1024))"
printf '%-44s %12s %12s\n' "restic backup --stdin, after the update" "" "$((restic_growth / 1024))"
printf '\ngrowth ratio drkit/restic: %s (target <= 1.5)\n' "$(echo "scale=3; $second_growth / $restic_growth" | bc)"
printf '%-44s %12.2f %12s   (drkit CPU %.2f s)\n' "drkit --dedup embedded, empty repository" "$emb_dk" "" "$emb_cpu"
printf '%-44s %12.2f\n' "pg_dump | zstd (same run as embedded)" "$emb_ref"
printf 'time ratio drkit/reference: CLI %s, embedded in a host JVM %s (target <= 1.15)\n' \
  "$(echo "scale=3; $dk / $ref" | bc)" "$(echo "scale=3; $emb_dk / $emb_ref" | bc)"

if [ -n "${REDIS:-}" ]; then
  require redis-server redis-cli python3
  keys=${KEYS:-3000000}
  rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$work/redis"
  redis-server --port "$rport" --bind 127.0.0.1 --dir "$work/redis" --save "" --appendonly no --daemonize yes \
    --logfile "$work/redis/log" --enable-debug-command yes >/dev/null
  for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$rport" debug populate "$keys" key 64 >/dev/null
  snap() { drkit_cli --repo "$work/rrepo" backup redis --name cache --uri "redis://127.0.0.1:$rport" --dedup | head -1; }
  one=$(snap)
  python3 - "$rport" "$keys" <<'PY'
import random, subprocess, sys
port, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
cmds = "".join(f"SET key:{k} changed-{k}-{'x' * 48}\n" for k in random.sample(range(n), n // 100))
subprocess.run(["redis-cli", "-p", port], input=cmds.encode(), stdout=subprocess.DEVNULL, check=True)
PY
  two=$(snap)
  redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true
  printf '\nRedis, %s keys, then 1%% changed at random:\n  first:  %s\n  second: %s\n' "$keys" "$one" "$two"
fi
