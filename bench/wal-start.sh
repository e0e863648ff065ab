#!/usr/bin/env bash
# Benchmark: start-to-exit of one synchronous `drkit wal-push` of a 16 MiB segment (what
# archive_command costs per segment without --spool), median of RUNS (default 7) each, for JVM
# settings that shorten start-up: plain `java -jar`, without the JDK's class-data sharing
# (-Xshare:off), the launcher's per-command AppCDS archive (dr-examples/bin/drkit), and that
# archive with C1 only (-XX:TieredStopAtLevel=1) and the serial collector. Also the spool's fast
# path: the acknowledgement holds the segment file's identity (`stat`), compared in the shell, and a JVM that finds the acknowledgement. A fake cluster (a
# pg_control and segments with a page header) is enough: nothing here talks to PostgreSQL.
#
#   bench/wal-start.sh
#   RUNS=11 bench/wal-start.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
require java bc
build_jar
runs=${RUNS:-7}
javabin=$(readlink -f "$(command -v java)")
data="$work/data"
mkdir -p "$data/global" "$data/pg_wal/archive_status" "$work/cache"
printf '\x2a\0\0\0\0\0\0\0' > "$data/global/pg_control"
seq_no=0
segment() { # sets name: a fresh 16 MiB segment: the long page header wal-push checks (the fake
  # cluster's system id 42, 16 MiB segments, this segment's address), then zeros, then random
  seq_no=$((seq_no + 1))
  name=$(printf '0000000100000000%08X' "$seq_no")
  {
    # xlp_magic, xlp_info (long header), xlp_tli 1, xlp_pageaddr, xlp_rem_len, padding,
    # xlp_sysid 42, xlp_seg_size, xlp_xlog_blcksz: little-endian
    printf '\020\321\002\000\001\000\000\000'
    printf "\\000\\000\\000\\$(printf '%03o' $((seq_no % 256)))\\$(printf '%03o' $((seq_no / 256)))\\000\\000\\000"
    printf '\000\000\000\000\000\000\000\000\052\000\000\000\000\000\000\000'
    printf '\000\000\000\001\000\040\000\000'
    head -c $((8388608 - 40)) /dev/zero
    head -c 8388608 /dev/urandom
  } > "$data/pg_wal/$name"
}
launcher() { env XDG_CACHE_HOME="$work/cache" JAVA_HOME="$(dirname "$(dirname "$javabin")")" DRKIT_JAR="$jar" "$here/dr-examples/bin/drkit" "$@"; }
one_push() { # one_push LABEL COMMAND...: seconds of one wal-push of segment $name
  local label=$1; shift
  local t0; t0=$(now)
  (cd "$data" && "$@" --repo "$work/repo-$label" wal-push "pg_wal/$name" >/dev/null)
  local t1; t1=$(now)
  elapsed "$t0" "$t1"
}
echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(java -version 2>&1 | head -1)" >&2
segment; (cd "$data" && launcher --repo "$work/repo-warm" wal-push "pg_wal/$name" >/dev/null) # makes the launcher's archive
archive=$(ls "$work"/cache/drkit/drkit-*-wal-push.jsa)
labels=("java -jar" "java -Xshare:off -jar" "java -XX:TieredStopAtLevel=1 -jar" "bin/drkit (AppCDS archive)"
  "AppCDS + -XX:TieredStopAtLevel=1" "AppCDS + TieredStopAtLevel=1 + UseSerialGC")
variant() { # variant N: the command of labels[N]
  case $1 in
    0) echo "java -jar $jar" ;;
    1) echo "java -Xshare:off -jar $jar" ;;
    2) echo "java -XX:TieredStopAtLevel=1 -jar $jar" ;;
    3) echo "launcher" ;;
    4) echo "java -XX:SharedArchiveFile=$archive -Xlog:cds=off -XX:TieredStopAtLevel=1 -jar $jar" ;;
    5) echo "java -XX:SharedArchiveFile=$archive -Xlog:cds=off -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar $jar" ;;
  esac
}
declare -A times
for i in $(seq "$runs"); do # interleaved, so that the machine's load falls on every variant alike
  for v in "${!labels[@]}"; do
    segment
    # shellcheck disable=SC2046
    times[$v]+=" $(one_push "v$v" $(variant "$v"))"
  done
done
for v in "${!labels[@]}"; do
  # shellcheck disable=SC2086
  printf '%-52s %8.3f s\n' "${labels[$v]}" "$(median ${times[$v]})"
done
# the spool's fast path for a segment an earlier batch acknowledged
segment; touch "$data/pg_wal/archive_status/$name.ready"
(cd "$data" && launcher --repo "$work/repo-spool" wal-push --spool "$work/spool" "pg_wal/$name" >/dev/null)
t=(); j=()
for i in $(seq "$runs"); do
  t0=$(now); sh -c 'read -r ack 2>/dev/null < "$1" && test "$ack" = "1 $(LC_ALL=C stat -c "%d %i %s %.9Y %.9Z" "$2")"' sh "$work/spool/$name.ok" "$data/pg_wal/$name"; t1=$(now); t+=("$(elapsed "$t0" "$t1")")
  t0=$(now); (cd "$data" && launcher --repo "$work/repo-spool" wal-push --spool "$work/spool" "pg_wal/$name" >/dev/null); t1=$(now)
  j+=("$(elapsed "$t0" "$t1")")
done
printf '%-52s %8.3f s\n' "acknowledged: sh, stat test of SPOOL/%f.ok" "$(median "${t[@]}")"
printf '%-52s %8.3f s\n' "acknowledged: bin/drkit wal-push --spool (JVM)" "$(median "${j[@]}")"
echo "load at the end $(cut -d' ' -f1-3 /proc/loadavg)" >&2
