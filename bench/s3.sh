#!/usr/bin/env bash
# Benchmark: uploading a 1 GiB backup to an S3 endpoint (S3Proxy on loopback, started here):
# `drkit backup files --compress none` against a plain AWS SDK v2 multipart upload of the same
# bytes (16 MiB parts, 4 in flight; bench/s3/PlainUpload.java), same run, median of 3 each,
# interleaved. Target overhead <= 10%. Then reading it back: `drkit restore` of that backup into
# a new directory against a plain GetObject of the uploaded object into a new file (one stream;
# bench/s3/PlainDownload.java), median of RUNS each, interleaved, after a warm-up round of both;
# drkit's reads go through its read-progress and interrupt guard, untars, and checks every
# file's hash. Both sides start a JVM with a class-data-sharing archive
# made by an untimed first run: drkit through its launcher (dr-examples/bin/drkit), the reference
# with -XX:SharedArchiveFile.
#
#   bench/s3.sh
#   BENCH_SIZE_MB=2048 RUNS=5 bench/s3.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
require java bc
build_jar
cp_file="$work/classpath"
(cd "$here" && mvn -q -B dependency:build-classpath -pl dr-s3 -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=test >/dev/null)
# jars only: class-data sharing refuses directories on the class path
cp="$(cat "$cp_file"):$(ls "$here"/dr-testkit/target/dr-testkit-*.jar | head -1):$(ls "$here"/dr-core/target/dr-core-*.jar | head -1)"

java -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Xmx1g -cp "$cp" "$here/bench/s3/S3ProxyMain.java" bench \
  > "$work/s3.out" 2>"$work/s3.err" &
s3pid=$!
trap 'kill $s3pid 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/s3.out" ] && break; sleep 0.2; done
read -r endpoint access secret < "$work/s3.out"
export AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY=$secret

mkdir -p "$work/data"
head -c $((size_mb * 1024 * 1024)) /dev/urandom > "$work/data/backup.bin"
bytes=$(stat -c %s "$work/data/backup.bin")
echo "S3Proxy at $endpoint; $((bytes / 1048576)) MiB of random data; $(nproc) cores" >&2

n=0
run_ref() {
  n=$((n + 1))
  local t0; t0=$(now)
  java -XX:SharedArchiveFile="$work/ref.jsa" -Xlog:cds=off -cp "$cp:$work/plain.jar" PlainUpload "$endpoint" "$access" \
    "$secret" bench "ref/$n" "$work/data/backup.bin"
  local t1; t1=$(now)
  elapsed "$t0" "$t1"
}
run_drkit() {
  n=$((n + 1))
  local t0; t0=$(now)
  XDG_CACHE_HOME="$work/cache" DRKIT_JAR="$jar" "$here/dr-examples/bin/drkit" -q --repo "s3://bench/drkit-$n?endpoint=$endpoint&region=us-east-1" backup files --name b \
    --path "$work/data" --compress none >/dev/null
  local t1; t1=$(now)
  elapsed "$t0" "$t1"
}

# compile the reference once, so that its runs pay only for a JVM start as drkit's do
javac -d "$work/classes" -cp "$cp" "$here/bench/s3/PlainUpload.java" "$here/bench/s3/PlainDownload.java"
jar cf "$work/plain.jar" -C "$work/classes" .
java -XX:ArchiveClassesAtExit="$work/ref.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off -cp "$cp:$work/plain.jar" PlainUpload \
  "$endpoint" "$access" "$secret" bench warm "$work/data/backup.bin"
run_drkit >/dev/null
ref_times=(); dk_times=()
for i in $(seq "$runs"); do
  ref_times+=("$(run_ref)"); dk_times+=("$(run_drkit)")
  echo "run $i: plain SDK multipart ${ref_times[-1]}s, drkit ${dk_times[-1]}s" >&2
done
ref=$(median "${ref_times[@]}"); dk=$(median "${dk_times[@]}")
printf '\n%-44s %10s %10s\n' "" "median s" "MiB/s"
printf '%-44s %10.2f %10s\n' "AWS SDK multipart upload (16 MiB x 4)" "$ref" "$(mbps "$bytes" "$ref")"
printf '%-44s %10.2f %10s\n' "drkit backup files --compress none" "$dk" "$(mbps "$bytes" "$dk")"
printf '\noverhead: %s%% (target <= 10%%); drkit also tars, hashes and writes sidecar and manifest\n' \
  "$(echo "scale=1; ($dk - $ref) * 100 / $ref" | bc)"

# --- reading back: drkit restore against a plain GetObject ---
java -XX:ArchiveClassesAtExit="$work/down.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off -cp "$cp:$work/plain.jar" PlainDownload \
  "$endpoint" "$access" "$secret" bench warm "$work/down.bin"
run_ref_down() {
  rm -f "$work/down.bin"; sync
  local t0; t0=$(now)
  java -XX:SharedArchiveFile="$work/down.jsa" -Xlog:cds=off -cp "$cp:$work/plain.jar" PlainDownload "$endpoint" "$access" \
    "$secret" bench warm "$work/down.bin"
  local t1; t1=$(now)
  elapsed "$t0" "$t1"
}
run_drkit_down() {
  rm -rf "$work/restored"; sync
  local t0; t0=$(now)
  XDG_CACHE_HOME="$work/cache" DRKIT_JAR="$jar" "$here/dr-examples/bin/drkit" -q --repo "s3://bench/drkit-1?endpoint=$endpoint&region=us-east-1" restore --name b \
    --latest --to "$work/restored" >/dev/null
  local t1; t1=$(now)
  elapsed "$t0" "$t1"
}
run_ref_down >/dev/null; run_drkit_down >/dev/null   # warm-up (and drkit's archive for restore)
cmp "$work/down.bin" "$work/data/backup.bin"
cmp "$work/restored$work/data/backup.bin" "$work/data/backup.bin"  # restored under its full path
dref_times=(); ddk_times=()
for i in $(seq "$runs"); do
  dref_times+=("$(run_ref_down)"); ddk_times+=("$(run_drkit_down)")
  echo "read run $i: plain SDK GetObject ${dref_times[-1]}s, drkit restore ${ddk_times[-1]}s" >&2
done
dref=$(median "${dref_times[@]}"); ddk=$(median "${ddk_times[@]}")
printf '\n%-44s %10s %10s\n' "" "median s" "MiB/s"
printf '%-44s %10.2f %10s\n' "AWS SDK GetObject into a file" "$dref" "$(mbps "$bytes" "$dref")"
printf '%-44s %10.2f %10s\n' "drkit restore (files, --compress none)" "$ddk" "$(mbps "$bytes" "$ddk")"
printf '\nread ratio drkit/reference: %s; drkit also untars and checks every file hash\n' \
  "$(echo "scale=3; $ddk / $dref" | bc)"
