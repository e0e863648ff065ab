#!/usr/bin/env bash
# Benchmark: WAL archiving under a write burst. The time from the start of a fixed pgbench run
# (pgbench -i at scale SCALE, default 30: about 450 MiB of WAL) until PostgreSQL reports every
# segment of it archived, with
#   drkit:      archive_command = 'read -r ack 2>/dev/null < SPOOL/%f.ok && test "$ack" = "1 $(LC_ALL=C stat -c "%%d %%i %%s %%.9Y %%.9Z" %p)" || drkit --repo R wal-push --spool SPOOL --jobs JOBS %p'
#   pgBackRest: archive_command = 'pgbackrest --stanza=bench archive-push %p', archive-async=y, process-max=JOBS
# on one cluster in the same run: zstd level 3 for both, JOBS (default 2) parallel pushes, an untimed
# round each first, then RUNS (default 3) rounds each, interleaved; medians and their ratio (target <= 1.0).
# Also prints each round's archive lag (from the end of pgbench to the last segment archived) and the load.
# drkit runs through its launcher dr-examples/bin/drkit (class-data sharing) as a deployment would;
# LAUNCHER=plain runs `java -jar` instead; DRKIT_JAVA_OPTS reaches the launcher (e.g.
# -XX:TieredStopAtLevel=1); PUSH_OPTS reaches drkit's wal-push (e.g. --linger 400).
# Everything runs as the postgres user when started as root.
#
#   bench/wal.sh
#   SCALE=60 RUNS=5 JOBS=2 bench/wal.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
require java bc pgbackrest python3
build_jar
pgbin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$pgbin/initdb" ] || { echo "bench: PostgreSQL server binaries not found (PG_BIN)" >&2; exit 1; }
scale=${SCALE:-30}
jobs=${JOBS:-2}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
javabin=$(readlink -f "$(command -v java)")

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
chmod 755 "$work"
cp "$jar" "$work/drkit.jar"
cp "$here/dr-examples/bin/drkit" "$work/drkit"
mkdir -p "$work/cache" "$work/pg" "$work/pgbackrest" "$work/drkit-repo" "$work/log" "$work/pgbr-spool"
if [ "${LAUNCHER:-cds}" = plain ]; then drkit_cmd="$javabin -jar $work/drkit.jar"; else
  drkit_cmd="env XDG_CACHE_HOME=$work/cache JAVA_HOME=$(dirname "$(dirname "$javabin")") \"DRKIT_JAVA_OPTS=${DRKIT_JAVA_OPTS:-}\" $work/drkit"; fi
cat > "$work/pgbackrest.conf" <<EOF
[global]
repo1-path=$work/pgbackrest
log-path=$work/log
lock-path=$work/log
spool-path=$work/pgbr-spool
archive-async=y
process-max=$jobs
compress-type=zst
compress-level=3
archive-timeout=300
log-level-console=warn
[bench]
pg1-path=$work/pg/data
pg1-port=$port
pg1-socket-path=$work/pg
EOF
pgbr_archive="env PGBACKREST_CONFIG=$work/pgbackrest.conf pgbackrest --stanza=bench archive-push %p"
dk_archive="read -r ack 2>/dev/null < $work/drkit-spool/%f.ok && test \"\$ack\" = \"1 \$(LC_ALL=C stat -c \"%%d %%i %%s %%.9Y %%.9Z\" %p)\" || $drkit_cmd -q --repo $work/drkit-repo wal-push --spool $work/drkit-spool --jobs $jobs ${PUSH_OPTS:-} %p"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$work"

as_pg "$pgbin/initdb" -D "$work/pg/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
cat >> "$work/pg/data/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/pg'
archive_mode = on
archive_command = '$pgbr_archive'
max_wal_size = 4GB
EOF
as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w start >/dev/null
trap 'as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true; sleep 1; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
as_pg env PGBACKREST_CONFIG="$work/pgbackrest.conf" pgbackrest --stanza=bench stanza-create >/dev/null
sql() { "$pgbin/psql" -At -d postgres -c "$1"; }

use_archive_command() {
  sql "ALTER SYSTEM SET archive_command = '$1'" >/dev/null
  sql "SELECT pg_reload_conf()" >/dev/null
  sleep 1
}

await_archived() {
  until [ "$(sql "SELECT coalesce(last_archived_wal, '') >= '$1' FROM pg_stat_archiver")" = t ]; do
    sleep 0.1
  done
}

# one round: the burst, then every segment of it archived; prints "total lag segments"
round() {
  use_archive_command "$1"
  # nothing of an earlier round pending
  await_archived "$(sql "SELECT pg_walfile_name(pg_switch_wal())")"
  local start_lsn; start_lsn=$(sql "SELECT pg_current_wal_lsn()")
  local t0; t0=$(now)
  "$pgbin/pgbench" -q -i -s "$scale" postgres >/dev/null 2>&1
  local t1; t1=$(now)
  local last; last=$(sql "SELECT pg_walfile_name(pg_switch_wal())")
  await_archived "$last"
  local t2; t2=$(now)
  local mib; mib=$(sql "SELECT (pg_current_wal_lsn() - '$start_lsn'::pg_lsn)::bigint / 1048576")
  sql "CHECKPOINT" >/dev/null
  echo "$(elapsed "$t0" "$t2") $(elapsed "$t1" "$t2") $mib"
}

echo "pgbench scale $scale; $(nproc) cores; $(pgbackrest version); jobs $jobs; DRKIT_JAVA_OPTS '${DRKIT_JAVA_OPTS:-}'; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
round "$pgbr_archive" >/dev/null
round "$dk_archive" >/dev/null
t_ref=(); t_dk=(); l_ref=(); l_dk=()
for i in $(seq "$runs"); do
  read -r total lag mib <<<"$(round "$pgbr_archive")"; t_ref+=("$total"); l_ref+=("$lag")
  echo "run $i pgBackRest: ${total}s (archive lag after pgbench ${lag}s, ${mib} MiB of WAL); load $(cut -d' ' -f1 /proc/loadavg)" >&2
  read -r total lag mib <<<"$(round "$dk_archive")"; t_dk+=("$total"); l_dk+=("$lag")
  echo "run $i drkit:      ${total}s (archive lag after pgbench ${lag}s, ${mib} MiB of WAL); load $(cut -d' ' -f1 /proc/loadavg)" >&2
done
errors=$(ls "$work/drkit-spool" | grep -c '\.error$' || true)
rt=$(median "${t_ref[@]}"); dt=$(median "${t_dk[@]}"); rl=$(median "${l_ref[@]}"); dl=$(median "${l_dk[@]}")
printf '\n%-34s %12s %12s %10s\n' "" "pgBackRest" "drkit" "ratio"
printf '%-34s %12.2f %12.2f %10.3f  (target <= 1.0)\n' "burst until all archived, median s" "$rt" "$dt" "$(echo "scale=3; $dt / $rt" | bc)"
printf '%-34s %12.2f %12.2f\n' "archive lag after the burst, s" "$rl" "$dl"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); drkit spool errors: $errors"
