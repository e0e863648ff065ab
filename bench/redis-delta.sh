#!/usr/bin/env bash
# Benchmark: incremental Redis backups (`backup redis --incremental`, key-level deltas). A Redis
# server of KEYS (3M) keys (DEBUG POPULATE, 64-byte values), a first backup (a full snapshot),
# then ROUNDS times: CHANGE (1%) of the keys, chosen at random, set to new values, and another
# backup (a delta). Prints what each backup stored against the first (the goal of issue 18:
# the second stores <= 5% of the first), the backup times, and the time to restore the newest
# delta (the chain rebuilt into a dump.rdb) against restoring the full snapshot.
#
#   bench/redis-delta.sh
#   KEYS=300000 ROUNDS=2 bench/redis-delta.sh     (a smoke run)
set -euo pipefail
source "$(dirname "$0")/common.sh"
require java bc redis-server redis-cli python3
build_jar
keys=${KEYS:-3000000}
rounds=${ROUNDS:-3}
change=${CHANGE:-0.01}
rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/redis"
redis-server --port "$rport" --bind 127.0.0.1 --dir "$work/redis" --save "" --appendonly no --repl-diskless-sync-delay 0 --daemonize yes \
  --logfile "$work/redis/log" --enable-debug-command yes >/dev/null
trap 'redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$rport" debug populate "$keys" key 64 >/dev/null
echo "redis: $keys keys; $(nproc) cores; $(redis-server --version | cut -d' ' -f3)" >&2
backup() {
  local t0 t1; t0=$(now)
  drkit_cli -q --repo "$work/repo" backup redis --name cache --uri "redis://127.0.0.1:$rport" --incremental >/dev/null
  t1=$(now); elapsed "$t0" "$t1"
}
newest() { ls -d "$work"/repo/backups/cache/2* | tail -1; }
stored() { du -sb "$1" | cut -f1; }
t_full=$(backup); full_dir=$(newest); full_bytes=$(stored "$full_dir")
printf '%-34s %12s %10s %8s\n' "" "stored KiB" "of first" "time s"
printf '%-34s %12s %10s %8.2f\n' "first backup (full snapshot)" "$((full_bytes / 1024))" "1.000" "$t_full"
for r in $(seq "$rounds"); do
  python3 - "$rport" "$keys" "$change" "$r" <<'PY'
import random, subprocess, sys
port, n, share, r = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
random.seed(r)
cmds = "".join(f"SET key:{k} changed-{r}-{k}-{'x' * 40}\n" for k in random.sample(range(n), int(n * share)))
subprocess.run(["redis-cli", "-p", port], input=cmds.encode(), stdout=subprocess.DEVNULL, check=True)
PY
  t=$(backup); d=$(newest); b=$(stored "$d")
  grep -q '"snapshot" : "key-delta"' "$d/manifest.json" || { echo "bench: backup $r is not a key-level delta" >&2; exit 1; }
  printf '%-34s %12s %10s %8.2f\n' "backup $((r + 1)) ($(awk -v s="$change" 'BEGIN{print s*100}')% changed, a delta)" \
    "$((b / 1024))" "$(echo "scale=3; $b / $full_bytes" | bc)" "$t"
done
restore() {
  rm -rf "$work/out"; local t0 t1; t0=$(now)
  drkit_cli -q --repo "$work/repo" restore --name cache --id "$(basename "$1")" --to-dir "$work/out" >/dev/null
  t1=$(now); elapsed "$t0" "$t1"
}
restore "$full_dir" >/dev/null; restore "$(newest)" >/dev/null   # warm-up
rf=$(restore "$full_dir"); rc=$(restore "$(newest)")
printf '\nrestore: full snapshot %.2f s, newest delta (chain of %s rebuilt) %.2f s: %.2fx\n' "$rf" "$((rounds + 1))" "$rc" \
  "$(echo "scale=3; $rc / $rf" | bc)"
