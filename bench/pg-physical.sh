#!/usr/bin/env bash
# Benchmark: `drkit backup postgres` (physical base backup) and `drkit restore` against
# pgBackRest on the same ~1 GB cluster (pgbench scale 60), in the same run: zstd level 3 for
# both, the same parallelism (JOBS, default 2), median of 3 each after an untimed round, interleaved. Targets: full
# backup ratio <= 1.0, restore ratio <= 1.0, repository size <= 1.05x.
# Then block-level incrementals (INCR=0 skips them): a new full each, then incrementals, each
# after 1% of pgbench_accounts' rows changed spread over the table; pgBackRest with
# repo1-bundle and repo1-block (block incremental), same compression and process-max. Targets:
# drkit's incremental stores <= 1.0x pgBackRest's bytes in <= 1.0x its time (median of RUNS
# after an untimed one); the restore of full + 7 incrementals takes <= 1.2x the restore of that
# full alone (CHAIN=N for another chain length, CHAIN=0 skips the chain and its restores); each
# of those restores also prints its CPU seconds (user + system, the tool's processes together),
# which tell a restore that waits from one that is short of cores.
# WAL is archived by both tools: archive_command runs pgbackrest archive-push and drkit wal-push
# side by side (archive-pgbackrest-and-drkit.sh: pgBackRest wants its name in the command), so that neither tool's backup waits behind the other's push.
# Everything runs as the postgres user when started as root. drkit runs through its launcher,
# dr-examples/bin/drkit (java -jar with a class-data-sharing archive made on first use), as a
# deployment would; LAUNCHER=plain runs `java -jar` instead.
#
#   bench/pg-physical.sh
#   SCALE=20 RUNS=5 JOBS=2 bench/pg-physical.sh
#   SCALE=10 RUNS=1 CHAIN=3 bench/pg-physical.sh     (a smoke run: a few minutes)
set -euo pipefail
shopt -s inherit_errexit
source "$(dirname "$0")/common.sh"
require java bc pgbackrest python3
build_jar
pgbin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$pgbin/initdb" ] || { echo "bench: PostgreSQL server binaries not found (PG_BIN)" >&2; exit 1; }
scale=${SCALE:-60}
jobs=${JOBS:-2}
incr=${INCR:-1}
chain=${CHAIN:-7}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
javabin=$(command -v java)
javabin=$(readlink -f "$javabin")

mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
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
# wait_for_archiver: switches WAL and waits until archive_command has stored the segment that
# ended, so that no backup timed after it waits behind the pushes of WAL written before
wait_for_archiver() {
  local current deadline=$((SECONDS + 600))
  current=$("$pgbin/psql" -At -d postgres -c "SELECT pg_walfile_name(pg_switch_wal())")
  until [ "$("$pgbin/psql" -At -d postgres -c "SELECT coalesce(last_archived_wal, '') >= '$current' FROM pg_stat_archiver")" = t ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "bench: the archiver did not reach $current in 10 minutes (see $work/pg/log)" >&2; exit 1; }
    sleep 0.2
  done
}
echo "waiting for the archiver to store the load's WAL ..." >&2
wait_for_archiver

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
  rm -rf "$work/r1"; as_pg mkdir -p "$work/r1"; sync
  local t0; t0=$(now); pgbr --pg1-path="$work/r1" --type=immediate restore >/dev/null; local t1; t1=$(now)
  elapsed "$t0" "$t1"
}
run_dk_restore() {
  rm -rf "$work/r2"; sync
  local t0; t0=$(now); dk restore --name bench --latest --to "$work/r2" --immediate >/dev/null; local t1; t1=$(now)
  elapsed "$t0" "$t1"
}

# Each restore starts from a synced page cache (outside the timed part, for both tools): the
# previous restore's ~1 GiB of dirty pages and freed blocks would otherwise be written back during
# the next one, whichever tool that is.
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


# Block-level incrementals (INCR=0 skips this part): a new full each with block maps, then
# incrementals, each after 1% of pgbench_accounts' rows changed, spread over the table (every
# 100th aid, a different residue each time, so every round touches other rows and pages).
# pgBackRest takes them with repo1-bundle and repo1-block (its block incremental needs both,
# and the full must carry block maps for the incrementals to store only changed blocks).
# Round 0 is untimed; rounds 1..RUNS are timed, the tools alternating which goes first.
# With CHAIN=N (default 7; 0 skips) the chain is grown to N incrementals, and the restore of
# full + N incrementals is timed against the restore of that full alone.
update_one_percent() {
  "$pgbin/psql" -q -d postgres -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = $1" >/dev/null
  "$pgbin/psql" -q -d postgres -c "CHECKPOINT" >/dev/null
  wait_for_archiver
}
pgbr_block() { pgbr --beta --repo1-bundle --repo1-block "$@"; }
pgbr_label() { readlink "$work/pgbackrest/backup/bench/latest"; }
dk_id() { basename "$(ls -d "$work"/drkit-repo/backups/bench/2* | tail -1)"; }
run_pgbr_block_backup() {
  local t0; t0=$(now); pgbr_block --type="$1" backup >/dev/null; local t1; t1=$(now); elapsed "$t0" "$t1"
}
run_dk_incr_backup() {
  local t0; t0=$(now)
  dk backup postgres --name bench --url "$url" --user postgres --jobs "$jobs" --incremental >/dev/null
  local t1; t1=$(now); elapsed "$t0" "$t1"
}
# restore_pgbr_set LABEL DIR [CPU], restore_dk_id ID DIR [CPU]: each prints its seconds, and
# appends its CPU seconds (user + system, its processes together) to the file CPU when given
restore_pgbr_set() {
  rm -rf "$2"; as_pg mkdir -p "$2"; sync
  local t0; t0=$(now); cpu_seconds "${3:-$work/cpu-other}" pgbr --pg1-path="$2" --set="$1" --type=immediate restore >/dev/null
  local t1; t1=$(now)
  elapsed "$t0" "$t1"
}
restore_dk_id() {
  rm -rf "$2"; sync
  local t0; t0=$(now); cpu_seconds "${3:-$work/cpu-other}" dk restore --name bench --id "$1" --to "$2" --immediate >/dev/null
  local t1; t1=$(now)
  elapsed "$t0" "$t1"
}

# what a backup adds to each repository, WAL left out (both archive it separately)
repo_bytes_ref() { du -sb "$work/pgbackrest/backup" | cut -f1; }
repo_bytes_dk() { du -sb --exclude="$work/drkit-repo/wal" "$work/drkit-repo" | cut -f1; }
# one_backup ref|dk full|incr: one timed backup; sets secs and bytes (the repository's growth),
# then lets the archiver drain, so the other tool's backup starts on an idle archiver
one_backup() {
  local before; before=$(repo_bytes_"$1")
  if [ "$1" = ref ]; then secs=$(run_pgbr_block_backup "$2")
  elif [ "$2" = full ]; then secs=$(run_dk_backup)
  else secs=$(run_dk_incr_backup); fi
  bytes=$(($(repo_bytes_"$1") - before))
  wait_for_archiver
}

block_incremental() {
  local chain_len=$chain rounds=$((runs + 1)) n i k t_ref t_dk by_ref by_dk
  [ "$chain_len" -gt "$rounds" ] && n=$chain_len || n=$rounds
  [ "$n" -lt 100 ] || { echo "bench: RUNS + 1 and CHAIN must stay below 100 (one residue of aid % 100 per incremental)" >&2; exit 1; }
  one_backup ref full; bf_ref=$secs; bfb_ref=$bytes; bfull_ref=$(pgbr_label)
  one_backup dk full; bf_dk=$secs; bfb_dk=$bytes; bfull_dk=$(dk_id)
  echo "full with block maps: pgBackRest ${bf_ref}s $(mib "$bfb_ref") MiB, drkit ${bf_dk}s $(mib "$bfb_dk") MiB" >&2
  i_ref=(); i_dk=(); ib_ref=(); ib_dk=(); chain_ref=(); chain_dk=()
  for k in $(seq 0 $((n - 1))); do
    update_one_percent "$k"
    if [ $((k % 2)) = 0 ]; then
      one_backup ref incr; t_ref=$secs; by_ref=$bytes; one_backup dk incr; t_dk=$secs; by_dk=$bytes
    else
      one_backup dk incr; t_dk=$secs; by_dk=$bytes; one_backup ref incr; t_ref=$secs; by_ref=$bytes
    fi
    chain_ref+=("$(pgbr_label)"); chain_dk+=("$(dk_id)")
    echo "incremental $((k + 1)) (1% of rows updated): pgBackRest ${t_ref}s $(mib "$by_ref") MiB, drkit ${t_dk}s $(mib "$by_dk") MiB$([ "$k" = 0 ] && echo ' (untimed)' || true)" >&2
    if [ "$k" -ge 1 ] && [ "$k" -le "$runs" ]; then
      i_ref+=("$t_ref"); i_dk+=("$t_dk"); ib_ref+=("$by_ref"); ib_dk+=("$by_dk")
    fi
  done
  [ "$chain_len" = 0 ] && return
  local tip_ref=${chain_ref[$((chain_len - 1))]} tip_dk=${chain_dk[$((chain_len - 1))]}
  # untimed round first, then interleaved: full alone, then full + CHAIN incrementals, each tool
  restore_pgbr_set "$bfull_ref" "$work/r1" >/dev/null; restore_dk_id "$bfull_dk" "$work/r2" >/dev/null
  restore_pgbr_set "$tip_ref" "$work/r3" >/dev/null; restore_dk_id "$tip_dk" "$work/r4" >/dev/null
  cf_ref=(); cf_dk=(); cc_ref=(); cc_dk=()
  : >"$work/cpu-cf-ref"; : >"$work/cpu-cf-dk"; : >"$work/cpu-cc-ref"; : >"$work/cpu-cc-dk"
  for i in $(seq "$runs"); do
    cf_ref+=("$(restore_pgbr_set "$bfull_ref" "$work/r1" "$work/cpu-cf-ref")")
    cf_dk+=("$(restore_dk_id "$bfull_dk" "$work/r2" "$work/cpu-cf-dk")")
    cc_ref+=("$(restore_pgbr_set "$tip_ref" "$work/r3" "$work/cpu-cc-ref")")
    cc_dk+=("$(restore_dk_id "$tip_dk" "$work/r4" "$work/cpu-cc-dk")")
    echo "restore run $i: full alone pgBackRest ${cf_ref[-1]}s ($(tail -1 "$work/cpu-cf-ref")s CPU), drkit ${cf_dk[-1]}s ($(tail -1 "$work/cpu-cf-dk")s CPU); full + $chain_len incrementals pgBackRest ${cc_ref[-1]}s ($(tail -1 "$work/cpu-cc-ref")s CPU), drkit ${cc_dk[-1]}s ($(tail -1 "$work/cpu-cc-dk")s CPU)" >&2
  done
  restored_full=$(du -sb "$work/r2" | cut -f1); restored_chain=$(du -sb "$work/r4" | cut -f1)
}
[ "$incr" = 0 ] || block_incremental

rb=$(median "${b_ref[@]}"); db=$(median "${b_dk[@]}"); rr=$(median "${r_ref[@]}"); dr=$(median "${r_dk[@]}")
fmt_row='%-36s %12.2f %12.2f %10.3f  %s\n'
printf '\n%-36s %12s %12s %10s\n' "" "pgBackRest" "drkit" "ratio"
printf "$fmt_row" "full backup, median s" "$rb" "$db" "$(ratio "$db" "$rb")" "(target <= 1.0)"
printf "$fmt_row" "restore, median s" "$rr" "$dr" "$(ratio "$dr" "$rr")" "(target <= 1.0)"
printf "$fmt_row" "stored MiB (one full)" "$(mib "$ref_bytes")" "$(mib "$dk_bytes")" "$(ratio "$dk_bytes" "$ref_bytes")" "(target <= 1.05)"
if [ "$incr" != 0 ]; then
  ir=$(median "${i_ref[@]}"); id=$(median "${i_dk[@]}"); ibr=$(median "${ib_ref[@]}"); ibd=$(median "${ib_dk[@]}")
  echo "block-level incrementals, 1% of pgbench_accounts rows updated before each (pgBackRest repo1-block, repo1-bundle):"
  printf "$fmt_row" "full with block maps, s" "$bf_ref" "$bf_dk" "$(ratio "$bf_dk" "$bf_ref")" "(one run each)"
  printf "$fmt_row" "full with block maps, MiB" "$(mib "$bfb_ref")" "$(mib "$bfb_dk")" "$(ratio "$bfb_dk" "$bfb_ref")" ""
  printf "$fmt_row" "incremental, median s" "$ir" "$id" "$(ratio "$id" "$ir")" "(target <= 1.0)"
  printf "$fmt_row" "incremental stored, median MiB" "$(mib "$ibr")" "$(mib "$ibd")" "$(ratio "$ibd" "$ibr")" "(target <= 1.0)"
  if [ "$chain" != 0 ]; then
    fr=$(median "${cf_ref[@]}"); fd=$(median "${cf_dk[@]}"); cr=$(median "${cc_ref[@]}"); cdk=$(median "${cc_dk[@]}")
    printf "$fmt_row" "restore of that full, median s" "$fr" "$fd" "$(ratio "$fd" "$fr")" ""
    printf "$fmt_row" "restore full + $chain incr, median s" "$cr" "$cdk" "$(ratio "$cdk" "$cr")" ""
    printf '%-36s %12.3f %12.3f %10s  %s\n' "chain / full restore" "$(ratio "$cr" "$fr")" "$(ratio "$cdk" "$fd")" "" "(target drkit <= 1.2)"
    fmt_cpu='%-36s %12.2f %12.2f %10s  %s\n'
    # shellcheck disable=SC2046
    printf "$fmt_cpu" "CPU s, restore of that full" "$(median $(cat "$work/cpu-cf-ref"))" "$(median $(cat "$work/cpu-cf-dk"))" "" "(user + system, median)"
    # shellcheck disable=SC2046
    printf "$fmt_cpu" "CPU s, restore full + $chain incr" "$(median $(cat "$work/cpu-cc-ref"))" "$(median $(cat "$work/cpu-cc-dk"))" "" "($(nproc) cores)"
    echo "(restored: $(mib "$restored_full") MiB from the full, $(mib "$restored_chain") MiB from the chain: the table grew with each update)"
  fi
fi
