#!/usr/bin/env bash
# Benchmark: `drkit backup files` against `tar -c | zstd -3` on the same ~1 GB tree, in the
# same run, median of 3 runs each (interleaved, warm page cache). Prints the time ratio;
# the target is drkit/reference <= 1.1.
#
#   bench/files.sh                 # builds a ~1 GB sample tree from /usr/share and /usr/lib
#   BENCH_DATA=/some/dir bench/files.sh
#   BENCH_SIZE_MB=2048 RUNS=5 bench/files.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
require tar zstd java bc
build_jar
data=$(sample_data)
bytes=$(du -sb "$data" | cut -f1)
files=$(find "$data" -type f | wc -l)
echo "data: $data, $((bytes / 1024 / 1024)) MiB in $files files; $(nproc) cores; $(zstd --version | head -1)" >&2


run_ref() {
  local out="$work/ref.tar.zst"
  rm -f "$out"
  local t0; t0=$(now)
  tar -C / -c "${data#/}" | zstd -3 -q -o "$out"
  local t1; t1=$(now)
  ref_size=$(stat -c %s "$out")
  elapsed "$t0" "$t1"
}

run_drkit() {
  local repo="$work/repo"
  rm -rf "$repo"
  local t0; t0=$(now)
  java -jar "$jar" -q --repo "$repo" backup files --name bench --path "$data" >/dev/null
  local t1; t1=$(now)
  drkit_size=$(find "$repo/backups" -name '*.zst' -printf '%s\n' | head -1)
  elapsed "$t0" "$t1"
}


# warm the page cache and the JIT-less paths once
run_ref >/dev/null
run_drkit >/dev/null

ref_times=(); drkit_times=()
for i in $(seq "$runs"); do
  ref_times+=("$(run_ref)")
  drkit_times+=("$(run_drkit)")
  echo "run $i: tar|zstd -3 ${ref_times[-1]}s, drkit ${drkit_times[-1]}s" >&2
done
ref=$(median "${ref_times[@]}")
dk=$(median "${drkit_times[@]}")
ratio=$(echo "scale=3; $dk / $ref" | bc)

printf '\n%-22s %10s %12s %14s\n' "" "median s" "MiB/s" "stored MiB"
printf '%-22s %10.2f %12s %14s\n' "tar -c | zstd -3" "$ref" "$(mbps "$bytes" "$ref")" "$((ref_size / 1048576))"
printf '%-22s %10.2f %12s %14s\n' "drkit backup files" "$dk" "$(mbps "$bytes" "$dk")" "$((drkit_size / 1048576))"
printf '\nratio drkit/reference: %s (target <= 1.1)\n' "$ratio"

# restore: the newest backup into a new directory (every path component checked, attributes
# set without following links) against zstd -dc | tar -x of the same tree
run_ref_restore() {
  rm -rf "$work/ref-out"; mkdir -p "$work/ref-out"
  local t0; t0=$(now)
  zstd -dc -q "$work/ref.tar.zst" | tar -x -C "$work/ref-out"
  local t1; t1=$(now)
  elapsed "$t0" "$t1"
}

run_drkit_restore() {
  rm -rf "$work/drkit-out"
  local t0; t0=$(now)
  java -jar "$jar" -q --repo "$work/repo" restore --name bench --latest --to "$work/drkit-out" >/dev/null
  local t1; t1=$(now)
  elapsed "$t0" "$t1"
}

run_ref_restore >/dev/null
run_drkit_restore >/dev/null
rref=(); rdk=()
for i in $(seq "$runs"); do
  rref+=("$(run_ref_restore)")
  rdk+=("$(run_drkit_restore)")
  echo "restore run $i: zstd -dc | tar -x ${rref[-1]}s, drkit ${rdk[-1]}s" >&2
done
rr=$(median "${rref[@]}")
rd=$(median "${rdk[@]}")
printf '\n%-22s %10s %12s\n' "" "median s" "MiB/s"
printf '%-22s %10.2f %12s\n' "zstd -dc | tar -x" "$rr" "$(mbps "$bytes" "$rr")"
printf '%-22s %10.2f %12s\n' "drkit restore" "$rd" "$(mbps "$bytes" "$rd")"
printf '\nrestore ratio drkit/reference: %s\n' "$(echo "scale=3; $rd / $rr" | bc)"
