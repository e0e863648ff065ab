#!/usr/bin/env bash
# Benchmark: `drkit backup redis --cluster` of a three-master Redis Cluster (one RDB per shard,
# snapshotted in parallel over the replication protocol, zstd, checked and stored in a local
# repository) against `redis-cli --rdb FILE` of the three shards, started together, so that the
# reference ends with the slowest shard's snapshot. Each shard holds KEYS/3 strings of 64 bytes
# (DEBUG POPULATE under a hash tag the shard owns). Target ratio drkit/reference <= 1.2.
# Measured twice: the CLI (a JVM starts for every backup) and drkit embedded in a host JVM that
# already runs (bench/java/EmbeddedBackup.java). Also prints each shard's redis-cli --rdb time
# alone, and drkit's CPU seconds (user + system) per backup, which vary less than wall times on
# a shared host. The CLI comparison interleaves runs of both and takes each one's median.
#
#   bench/redis-cluster.sh
#   KEYS=3000000 RUNS=5 bench/redis-cluster.sh
#   DRKIT_JAVA_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" bench/redis-cluster.sh   # a shorter JVM start
#   LAUNCHER=plain bench/redis-cluster.sh                                             # java -jar
set -euo pipefail
source "$(dirname "$0")/common.sh"
require java bc redis-server redis-cli python3
build_jar
total=${KEYS:-3000000}
per_shard=$((total / 3))
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

ports=(); buses=()
for i in 0 1 2; do
  ports+=("$(free_port)"); buses+=("$(free_port)")
  mkdir -p "$work/node$i"
  redis-server --port "${ports[$i]}" --cluster-port "${buses[$i]}" --cluster-enabled yes \
    --cluster-config-file "$work/node$i/nodes.conf" --bind 127.0.0.1 --dir "$work/node$i" --save "" \
    --appendonly no --daemonize yes --logfile "$work/node$i/log" --repl-diskless-sync yes \
    --repl-diskless-sync-delay 0 --enable-debug-command yes >/dev/null
done
stop() {
  for p in "${ports[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap stop EXIT
for p in "${ports[@]}"; do
  for _ in $(seq 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli -p "${ports[0]}" cluster addslotsrange 0 5460 >/dev/null
redis-cli -p "${ports[1]}" cluster addslotsrange 5461 10922 >/dev/null
redis-cli -p "${ports[2]}" cluster addslotsrange 10923 16383 >/dev/null
for i in 1 2; do redis-cli -p "${ports[$i]}" cluster meet 127.0.0.1 "${ports[0]}" "${buses[0]}" >/dev/null; done
for _ in $(seq 300); do
  ok=0
  for p in "${ports[@]}"; do redis-cli -p "$p" cluster info | grep -q 'cluster_state:ok' && ok=$((ok + 1)); done
  [ "$ok" = 3 ] && break; sleep 0.1
done
[ "$ok" = 3 ] || { echo "bench: the cluster did not become ready" >&2; exit 1; }

echo "loading $total keys, $per_shard per shard ..." >&2
for i in 0 1 2; do
  # a hash tag whose slot this shard owns, so that DEBUG POPULATE writes keys the node serves
  for n in $(seq 1000); do
    slot=$(redis-cli -p "${ports[$i]}" cluster keyslot "{t$n}")
    owner=$(( slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2 ))
    [ "$owner" = "$i" ] && break
  done
  redis-cli -p "${ports[$i]}" debug populate "$per_shard" "{t$n}key" 64 >/dev/null
done
echo "cluster: $(for p in "${ports[@]}"; do redis-cli -p "$p" dbsize; done | paste -sd+ | bc) keys in 3 shards; $(nproc) cores; $(redis-server --version | cut -d' ' -f1-3)" >&2

cat > "$work/ref.sh" <<EOF
#!/bin/sh
# the three shards' snapshots, started together: done when the slowest is
for p in ${ports[*]}; do redis-cli -p \$p --rdb "$work/ref-\$p.rdb" >/dev/null 2>&1 & done
wait
EOF
# drkit runs through its launcher dr-examples/bin/drkit (class-data sharing, DRKIT_JAVA_OPTS) as a
# deployment would; LAUNCHER=plain runs java -jar instead
if [ "${LAUNCHER:-cds}" = plain ]; then drkit_cmd="java -jar $jar"; else
  mkdir -p "$work/cache"
  drkit_cmd="env XDG_CACHE_HOME=$work/cache DRKIT_JAR=$jar DRKIT_JAVA_OPTS='${DRKIT_JAVA_OPTS:-}' $here/dr-examples/bin/drkit"
fi
cat > "$work/drkit.sh" <<EOF
#!/bin/sh
rm -rf "$work/repo"
exec $drkit_cmd -q --repo "$work/repo" backup redis --name cache --cluster --uri redis://127.0.0.1:${ports[0]} >/dev/null
EOF
chmod +x "$work/ref.sh" "$work/drkit.sh"
"$work/drkit.sh"   # the launcher's first run of a command archives its classes

for p in "${ports[@]}"; do
  t0=$(now); redis-cli -p "$p" --rdb "$work/alone.rdb" >/dev/null 2>&1; t1=$(now)
  echo "shard on $p alone: redis-cli --rdb $(elapsed "$t0" "$t1")s, $(stat -c %s "$work/alone.rdb") bytes" >&2
done

# embedded: the same backup from a host JVM that is already running (no JVM start per backup)
read -r emb_ref emb_dk emb_cpu < <(java -cp "$jar" "$here/bench/java/EmbeddedBackup.java" redis "$work/emb-repo" "$runs" \
  "$work/ref.sh" "uri=redis://127.0.0.1:${ports[0]}" cluster=true)
echo "embedded in a running JVM: drkit ${emb_dk}s (${emb_cpu}s CPU), shards' redis-cli --rdb together ${emb_ref}s, ratio $(echo "scale=3; $emb_dk / $emb_ref" | bc)"

"$work/ref.sh"; "$work/drkit.sh"   # warm-up
ref_times=(); dk_times=(); : >"$work/cpu"
for i in $(seq "$runs"); do
  t0=$(now); "$work/ref.sh"; t1=$(now); ref_times+=("$(elapsed "$t0" "$t1")")
  t0=$(now); cpu_seconds "$work/cpu" "$work/drkit.sh"; t1=$(now); dk_times+=("$(elapsed "$t0" "$t1")")
  echo "run $i: redis-cli --rdb x3 ${ref_times[-1]}s, drkit --cluster ${dk_times[-1]}s ($(tail -1 "$work/cpu")s CPU)" >&2
done
ref=$(median "${ref_times[@]}"); dk=$(median "${dk_times[@]}")
# shellcheck disable=SC2046
echo "cluster backup (3 shards): drkit ${dk}s ($(median $(cat "$work/cpu"))s CPU), slowest shard's redis-cli --rdb ${ref}s, ratio $(echo "scale=3; $dk / $ref" | bc) (target <= 1.2)"
