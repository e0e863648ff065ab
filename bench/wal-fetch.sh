#!/usr/bin/env bash
# Benchmark: replay of ~1 GiB of archived WAL (pgbench -i at SCALE, default 80: 983 MiB, after a base
# backup) through restore_command: drkit's read-ahead wal-fetch (restore --prefetch-wal: the
# shell moves read-ahead segments from the spool, a background drkit keeps PREFETCH segments
# there, JOBS at once; BATCH=1: each call that misses fetches the next PREFETCH) against
# pgBackRest's asynchronous archive-get (archive-async=y, process-max=JOBS,
# archive-get-queue-max 2 GiB), on the same machine in the same run: one untimed round each,
# then RUNS (default 3) timed rounds, interleaved, each from a synced (and, as root, emptied) page
# cache. Timed: from
# starting the restored cluster to the end of recovery (to the end of the archive).
# Target: ratio drkit/pgBackRest <= 1.0.
# drkit runs through its launcher (class-data sharing), as in pg-physical.sh.
#
#   bench/wal-fetch.sh
#   SCALE=20 RUNS=1 PREFETCH=64 BATCH=1 bench/wal-fetch.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
require java bc pgbackrest python3
build_jar
pgbin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$pgbin/initdb" ] || { echo "bench: PostgreSQL server binaries not found (PG_BIN)" >&2; exit 1; }
scale=${SCALE:-80}
jobs=${JOBS:-2}
prefetch=${PREFETCH:-32}
# wal-fetch --async (a background drkit keeps the spool filled, as restore --prefetch-wal writes it);
# BATCH=1: a batch per call that misses instead
async_flag=--async
[ -n "${BATCH:-}" ] && async_flag=
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(freeport)
rport=$(freeport)
javabin=$(readlink -f "$(command -v java)")

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
chmod 755 "$work"
cp "$jar" "$work/drkit.jar"
cp "$here/dr-examples/bin/drkit" "$work/drkit"
mkdir -p "$work/cache" "$work/pg" "$work/pgbackrest" "$work/drkit-repo" "$work/log" "$work/spool"
drkit_cmd="env XDG_CACHE_HOME=$work/cache JAVA_HOME=$(dirname "$(dirname "$javabin")") $work/drkit"
cat > "$work/pgbackrest.conf" <<CONF
[global]
repo1-path=$work/pgbackrest
log-path=$work/log
lock-path=$work/log
spool-path=$work/spool
compress-type=zst
compress-level=3
process-max=$jobs
archive-async=y
archive-get-queue-max=2147483648
start-fast=y
repo1-retention-full=100
archive-timeout=300
[bench]
pg1-path=$work/pg/data
pg1-port=$port
pg1-socket-path=$work/pg
CONF
cat > "$work/archive-pgbackrest-and-drkit.sh" <<SCRIPT
#!/bin/sh
env PGBACKREST_CONFIG=$work/pgbackrest.conf pgbackrest --stanza=bench --archive-async=n archive-push "\$1" & ref=\$!
$drkit_cmd -q --repo $work/drkit-repo wal-push "\$1"; dk=\$?
wait \$ref && [ \$dk = 0 ]
SCRIPT
chmod 755 "$work/archive-pgbackrest-and-drkit.sh"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$work"
dk() { as_pg $drkit_cmd -q --repo "$work/drkit-repo" "$@"; }
pgbr() { as_pg env PGBACKREST_CONFIG="$work/pgbackrest.conf" pgbackrest --stanza=bench "$@"; }

as_pg "$pgbin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
cat >> "$work/pg/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/pg'
archive_mode = on
archive_command = '$work/archive-pgbackrest-and-drkit.sh %p'
max_wal_size = 4GB
CONF
as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w start >/dev/null
stop_all() {
  for d in "$work/pg/data" "$work/r1" "$work/r2"; do
    [ -f "$d/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
  done
}
trap 'stop_all; sleep 1; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export PGHOST=127.0.0.1 PGUSER=postgres
psql_live() { "$pgbin/psql" -p "$port" -At -d postgres "$@"; }

pgbr stanza-create >/dev/null
pgbr --type=full backup >/dev/null
dk backup postgres --name bench --url "jdbc:postgresql://127.0.0.1:$port/postgres" --user postgres >/dev/null
start_lsn=$(psql_live -c "SELECT pg_current_wal_lsn()")
echo "writing WAL: pgbench -i -s $scale ..." >&2
"$pgbin/pgbench" -p "$port" -q -i -s "$scale" postgres >/dev/null 2>&1
end_lsn=$(psql_live -c "SELECT pg_current_wal_lsn()")
wal_mb=$(psql_live -c "SELECT (pg_wal_lsn_diff('$end_lsn', '$start_lsn') / 1048576)::int")
current=$(psql_live -c "SELECT pg_walfile_name(pg_switch_wal())")
echo "waiting for both archives to reach $current ($wal_mb MiB of WAL) ..." >&2
until [ "$(psql_live -c "SELECT coalesce(last_archived_wal, '') >= '$current' FROM pg_stat_archiver")" = t ]; do
  sleep 1
done
as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null

# replay DIR: starts the restored cluster (no archiving, its own port) and times it to the end of recovery
replay() {
  local dir=$1
  as_pg sh -c "printf '%s\n' 'archive_mode = off' \"port = $rport\" >> '$dir/postgresql.auto.conf'"
  local t0; t0=$(now)
  as_pg "$pgbin/pg_ctl" -D "$dir" -l "$dir.log" start >/dev/null
  until [ "$("$pgbin/psql" -p "$rport" -At -d postgres -c "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ]; do
    sleep 0.1
  done
  local t1; t1=$(now)
  as_pg "$pgbin/pg_ctl" -D "$dir" -m immediate stop >/dev/null
  elapsed "$t0" "$t1"
}
# each round starts from a clean page cache (sync after removing the previous round's cluster):
# a replay leaves ~1 GiB of dirty pages, and on a small host the kernel's dirty limit then throttles
# the next round's writes, whichever tool that is (measured: drkit 6.0-8.5 s right after
# pgBackRest's round, 3.1-3.4 s from a clean start). Run as root, the page cache is also emptied
# (drop_caches), so that each round reads its archive from disk, as on a host recovering from a
# disaster, rather than from whatever the WAL generation left cached (DROP_CACHES=0 keeps it).
clean_start() {
  sync
  if [ "${DROP_CACHES:-1}" = 1 ] && [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi
}
run_pgbr() {
  rm -rf "$work/r1" "$work/r1.log" "$work/spool/archive"; clean_start; as_pg mkdir -p "$work/r1"
  pgbr --pg1-path="$work/r1" \
    --recovery-option="restore_command=pgbackrest --config=$work/pgbackrest.conf --stanza=bench --pg1-path=$work/r1 archive-get %f \"%p\"" \
    restore >/dev/null
  replay "$work/r1"
}
run_dk() {
  # a background fill of the previous round still waiting on its spool ends when the spool goes
  rm -rf "$work/r2" "$work/r2.log" "$work/r2.drkit-fetch"; clean_start
  dk restore --name bench --latest --to "$work/r2" --prefetch-wal "$prefetch" \
    --restore-command "$drkit_cmd -q --repo $work/drkit-repo wal-fetch --spool $work/r2.drkit-fetch --prefetch $prefetch --jobs $jobs $async_flag %f %p" \
    >/dev/null
  local s; s=$(replay "$work/r2")
  # every segment replayed came from the archive: PostgreSQL logs each
  grep -c 'restored log file "[0-9A-F]\{24\}"' "$work/r2.log" > "$work/dk-restored" || true
  echo "$s"
}

echo "$wal_mb MiB of WAL; $(nproc) cores; $(pgbackrest version); jobs $jobs; drkit prefetch $prefetch ${async_flag:-(batch)}" >&2
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
run_pgbr >/dev/null; run_dk >/dev/null
ref=(); dkr=()
for i in $(seq "$runs"); do
  ref+=("$(run_pgbr)"); dkr+=("$(run_dk)")
  echo "replay run $i: pgBackRest ${ref[-1]}s, drkit ${dkr[-1]}s ($(cat "$work/dk-restored") segments); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
rr=$(median "${ref[@]}"); dr=$(median "${dkr[@]}")
printf '\n%-30s %12s %12s %10s\n' "" "pgBackRest" "drkit" "ratio"
printf '%-30s %12.2f %12.2f %10.3f  (target <= 1.0)\n' "replay $wal_mb MiB, median s" "$rr" "$dr" "$(echo "scale=3; $dr / $rr" | bc)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
