# Shared helpers for the benchmark scripts (sourced, not run).
here=$(cd "$(dirname "$0")/.." && pwd)
jar="$here/dr-examples/target/drkit.jar"
runs=${RUNS:-3}
size_mb=${BENCH_SIZE_MB:-1024}
work=${BENCH_WORK:-$(mktemp -d /tmp/drkit-bench.XXXXXX)}
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

require() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }
  done
}

build_jar() {
  [ -f "$jar" ] || (cd "$here" && mvn -q -B -DskipTests install)
}

# sample_data: prints the data directory: BENCH_DATA, or a ~size_mb tree from /usr/share and /usr/lib
sample_data() {
  if [ -n "${BENCH_DATA:-}" ]; then
    echo "$BENCH_DATA"
    return
  fi
  local data="$work/data"
  mkdir -p "$data"
  echo "building a ~${size_mb} MB sample tree from /usr/share and /usr/lib ..." >&2
  find /usr/share /usr/lib -xdev -type f -readable -size -256M -printf '%s\t%p\n' 2>/dev/null \
    | sort -t$'\t' -k2 \
    | awk -F'\t' -v max=$((size_mb * 1024 * 1024)) '{ if (total + $1 <= max) { total += $1; print $2 } }' \
    > "$work/files.txt" || true
  tar -c --ignore-failed-read --files-from="$work/files.txt" 2>/dev/null | tar -x -C "$data" || true
  echo "$data"
}

# drkit_cli: the command that runs the CLI as a deployment would, through its launcher
# dr-examples/bin/drkit (a class-data-sharing archive per command, made in the untimed warm-up
# round, in a cache of this run); LAUNCHER=plain runs `java -jar` instead. DRKIT_JAVA_OPTS
# reaches the JVM either way.
drkit_cli() {
  if [ "${LAUNCHER:-cds}" = plain ]; then
    # shellcheck disable=SC2086
    java ${DRKIT_JAVA_OPTS:-} -jar "$jar" "$@"
  else
    mkdir -p "$work/cache"
    XDG_CACHE_HOME="$work/cache" DRKIT_JAR="$jar" "$here/dr-examples/bin/drkit" "$@"
  fi
}

# cpu_seconds FILE CMD...: runs CMD (its output goes where it would) and appends the user +
# system CPU seconds it used, children included, to FILE; less noisy than wall time on a shared host
cpu_seconds() {
  local file=$1 TIMEFORMAT='%3U %3S'
  shift
  { time "$@" 2>&3; } 3>&2 2>"$file.t"
  awk '{ printf "%.3f\n", $1 + $2 }' "$file.t" >>"$file"
  rm -f "$file.t"
}

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mbps() { echo "scale=0; $1 / 1048576 / $2" | bc; }

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# start_postgres: a PostgreSQL cluster of its own in $work/pg on a free loopback port (as the
# postgres user when run as root), stopped on exit; sets pgbin and port and exports PGHOST,
# PGPORT, PGUSER.
start_postgres() {
  pgbin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
  [ -x "$pgbin/initdb" ] || { echo "bench: PostgreSQL server binaries not found (PG_BIN)" >&2; exit 1; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local pgdir="$work/pg"
  mkdir -p "$pgdir"
  [ "$(id -u)" = 0 ] && chmod 711 "$work" && chown postgres:postgres "$pgdir"
  as_pg "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
  as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1" start >/dev/null
  trap 'as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
}

# load_bench_db SCALE ROWS: database `bench`, pgbench scale SCALE plus a table of ROWS documents
# with text and jsonb (scale 30 and 1.5M rows make the ~1 GB bench database).
load_bench_db() {
  echo "loading pgbench scale $1 and $2 documents ..." >&2
  "$pgbin/psql" -q -d postgres -c "CREATE DATABASE bench" >/dev/null
  "$pgbin/pgbench" -q -i -s "$1" bench >/dev/null 2>&1
  "$pgbin/psql" -q -d bench -c "CREATE TABLE documents AS SELECT i AS id, md5(i::text) || ' ' || repeat(chr(97 + i % 26), 200)
    AS body, jsonb_build_object('n', i, 'tags', jsonb_build_array('t' || i % 10, 't' || i % 7), 'title', 'doc ' || i)
    AS meta FROM generate_series(1, $2) i" >/dev/null
  "$pgbin/psql" -q -d bench -c "VACUUM ANALYZE" >/dev/null
}
