#!/usr/bin/env bash
# Benchmark: `drkit backup postgres` (physical base backup) and `drkit restore` against
# pgBackRest on the same ~1 GB cluster (pgbench scale 60), in the same run: zstd level 3 for
# both, the same parallelism (JOBS, default 2), median of 3 each after an untimed round, interleaved. Targets: full
# backup ratio <= 1.0, restore ratio <= 1.0, repository size <= 1.05x. Also prints what an
# incremental backup stores after 1% of pgbench_accounts changed, for both.
# WAL is archived by both tools: archive_command runs pgbackrest archive-push and drkit wal-push
# side by side (archive-pgbackrest-and-drkit.sh: pgBackRest wants its name in the command), so that neither tool's backup waits behind the other's push.
# Everything runs as the postgres user when started as root. drkit runs through its launcher,
# dr-examples/bin/drkit (java -jar with a class-data-sharing archive made on first use), as a
# deployment would; LAUNCHER=plain runs `java -jar` instead.
#
#   bench/pg-physical.sh
#   SCALE=20 RUNS=5 JOBS=2 bench/pg-physical.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
require java bc pgbackrest python3
build_jar
pgbin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$pgbin/initdb" ] || { echo "bench: PostgreSQL server binaries not found (PG_BIN)" >&2; exit 1; }
scale=${SCALE:-60}
jobs=${JOBS:-2}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
javabin=$(command -v java)
javabin=$(readlink -f "$javabin")

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
chmod 755 "$work"
cp "$jar" "$work/drkit.jar"
cp "$here/dr-examples/bin/drkit" "$work/drkit"
mkdir -p "$work/cache"
if [ "${LAUNCHER:-cds}" = plain ]; then drkit_cmd="$javabin -jar $work/drkit.jar"; else
  drkit_cmd="env XDG_CACHE_HOME=$work/cache JAVA_HOME=$(dirname "$(dirname "$javabin")") $work/drkit"; fi
mkdir -p "$work/pg" "$work/pgbackrest" "$work/drkit-repo" "$work/log"
cat > "$work/pgbackrest.conf" <<EOF
[global]
repo1-path=$work/pgbackrest
log-path=$work/log
lock-path=$work/log
spool-path=$work/log
compress-type=zst
compress-level=3
process-max=$jobs
start-fast=y
repo1-retention-full=100
archive-timeout=300
[bench]
pg1-path=$work/pg/data
pg1-port=$port
pg1-socket-path=$work/pg
EOF
cat > "$work/archive-pgbackrest-and-drkit.sh" <<SCRIPT
#!/bin/sh
# both pushes at once; success only when both stored the segment
env PGBACKREST_CONFIG=$work/pgbackrest.conf pgbackrest --stanza=bench archive-push "\$1" & ref=\$!
$drkit_cmd --repo $work/drkit-repo wal-push "\$1"; dk=\$?
wait \$ref && [ \$dk = 0 ]
SCRIPT
chmod 755 "$work/archive-pgbackrest-and-drkit.sh"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$work"
export PGBACKREST_CONFIG="$work/pgbackrest.conf"
dk() { as_pg $drkit_cmd -q --repo "$work/drkit-repo" "$@"; }
pgbr() { as_pg env PGBACKREST_CONFIG="$work/pgbackrest.conf" pgbackrest --stanza=bench "$@"; }

as_pg "$pgbin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
cat >> "$work/pg/data/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/pg'
archive_mode = on
archive_command = '$work/archive-pgbackrest-and-drkit.sh %p'
max_wal_size = 4GB
EOF
as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w start >/dev/null
trap 'as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true; sleep 1; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres

echo "loading pgbench scale $scale ..." >&2
"$pgbin/pgbench" -q -i -s "$scale" postgres >/dev/null 2>&1
"$pgbin/psql" -q -d postgres -c "CHECKPOINT" >/dev/null
size=$(du -sb "$work/pg/data" | cut -f1)
echo "cluster: $((size / 1048576)) MiB; $(nproc) cores; $(pgbackrest version); jobs $jobs" >&2
pgbr stanza-create >/dev/null
# let the archiver catch up with the load's WAL before anything is timed
current=$("$pgbin/psql" -At -d postgres -c "SELECT pg_walfile_name(pg_switch_wal())")
echo "waiting for the archiver to reach $current ..." >&2
until [ "$("$pgbin/psql" -At -d postgres -c "SELECT coalesce(last_archived_wal, '') >= '$current' FROM pg_stat_archiver")" = t ]; do
  sleep 1
done

url="jdbc:postgresql://127.0.0.1:$port/postgres"
run_pgbr_backup() {
  local t0; t0=$(now); pgbr --type=full backup >/dev/null; local t1; t1=$(now); elapsed "$t0" "$t1"
}
run_dk_backup() {
  local t0; t0=$(now)
  dk backup postgres --name bench --url "$url" --user postgres --jobs "$jobs" >/dev/null
  local t1; t1=$(now); elapsed "$t0" "$t1"
}
run_pgbr_restore() {
  rm -rf "$work/r1"; as_pg mkdir -p "$work/r1"
  local t0; t0=$(now); pgbr --pg1-path="$work/r1" --type=immediate restore >/dev/null; local t1; t1=$(now)
  elapsed "$t0" "$t1"
}
run_dk_restore() {
  rm -rf "$work/r2"
  local t0; t0=$(now); dk restore --name bench --latest --to "$work/r2" --immediate >/dev/null; local t1; t1=$(now)
  elapsed "$t0" "$t1"
}

# one untimed round each first: page cache, pgBackRest's first stanza files, drkit's class-data archive
run_pgbr_backup >/dev/null; run_dk_backup >/dev/null; run_pgbr_restore >/dev/null; run_dk_restore >/dev/null
b_ref=(); b_dk=(); r_ref=(); r_dk=()
for i in $(seq "$runs"); do
  b_ref+=("$(run_pgbr_backup)"); b_dk+=("$(run_dk_backup)")
  echo "backup run $i: pgBackRest ${b_ref[-1]}s, drkit ${b_dk[-1]}s" >&2
done
for i in $(seq "$runs"); do
  r_ref+=("$(run_pgbr_restore)"); r_dk+=("$(run_dk_restore)")
  echo "restore run $i: pgBackRest ${r_ref[-1]}s, drkit ${r_dk[-1]}s" >&2
done
# one backup's stored size each (the newest)
ref_bytes=$(du -sb "$(ls -d "$work"/pgbackrest/backup/bench/*F | tail -1)" | cut -f1)
dk_bytes=$(du -sb "$(ls -d "$work"/drkit-repo/backups/bench/2* | tail -1)" | cut -f1)

# incremental: 1% of the accounts change
rows=$((scale * 100000 / 100))
"$pgbin/psql" -q -d postgres -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= $rows" >/dev/null
"$pgbin/psql" -q -d postgres -c "CHECKPOINT" >/dev/null
pgbr --type=incr backup >/dev/null
incr_ref=$(du -sb "$(ls -d "$work"/pgbackrest/backup/bench/*I | tail -1)" | cut -f1)
dk backup postgres --name bench --url "$url" --user postgres --jobs "$jobs" --incremental >/dev/null
incr_dk=$(du -sb "$(ls -d "$work"/drkit-repo/backups/bench/2* | tail -1)" | cut -f1)

rb=$(median "${b_ref[@]}"); db=$(median "${b_dk[@]}"); rr=$(median "${r_ref[@]}"); dr=$(median "${r_dk[@]}")
printf '\n%-28s %12s %12s %10s\n' "" "pgBackRest" "drkit" "ratio"
printf '%-28s %12.2f %12.2f %10.3f  (target <= 1.0)\n' "full backup, median s" "$rb" "$db" "$(echo "scale=3; $db / $rb" | bc)"
printf '%-28s %12.2f %12.2f %10.3f  (target <= 1.0)\n' "restore, median s" "$rr" "$dr" "$(echo "scale=3; $dr / $rr" | bc)"
printf '%-28s %12s %12s %10.3f  (target <= 1.05)\n' "stored MiB (one full)" "$((ref_bytes / 1048576))" "$((dk_bytes / 1048576))" "$(echo "scale=3; $dk_bytes / $ref_bytes" | bc)"
printf '%-28s %12s %12s %10.3f\n' "after 1% updated, MiB" "$((incr_ref / 1048576))" "$((incr_dk / 1048576))" "$(echo "scale=3; $incr_dk / $incr_ref" | bc)"
echo "(both incremental; both copy a changed file whole, so a changed 1 GiB relation segment is stored again)"
