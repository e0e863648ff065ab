#!/usr/bin/env bash
# Benchmark: OpenPGP encryption overhead. The same ~1 GB tree is backed up by drkit with and
# without --encrypt-to (zstd -3 both), median of 3 runs each, interleaved: target overhead
# <= 15%. Then raw encrypt/decrypt throughput of an uncompressed tar of the tree: drkit
# (backup and restore with --compress none) next to gpg --symmetric --cipher-algo AES256 -z 0
# and gpg --decrypt.
#
#   bench/crypto.sh
#   BENCH_DATA=/some/dir RUNS=5 bench/crypto.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
require tar zstd java bc gpg
build_jar
data=$(sample_data)
bytes=$(du -sb "$data" | cut -f1)
echo "data: $data, $((bytes / 1024 / 1024)) MiB; $(nproc) cores; $(gpg --version | head -1)" >&2

drkit() { java -jar "$jar" -q "$@"; }
export GNUPGHOME="$work/gnupg"
mkdir -p -m 700 "$GNUPGHOME"
trap 'gpgconf --kill all 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
drkit key generate --out "$work/keys" >/dev/null
printf 'bench passphrase\n' > "$work/pass"; chmod 600 "$work/pass"

timed() { local t0; t0=$(now); "$@" >/dev/null; local t1; t1=$(now); elapsed "$t0" "$t1"; }

backup_plain() { rm -rf "$work/r1"; timed drkit --repo "$work/r1" backup files --name b --path "$data"; }
backup_enc() {
  rm -rf "$work/r2"
  timed drkit --repo "$work/r2" backup files --name b --path "$data" --encrypt-to "$work/keys/public.asc"
}

backup_plain >/dev/null; backup_enc >/dev/null   # warm-up
plain=(); enc=()
for i in $(seq "$runs"); do
  plain+=("$(backup_plain)"); enc+=("$(backup_enc)")
  echo "run $i: plain ${plain[-1]}s, encrypted ${enc[-1]}s" >&2
done
p=$(median "${plain[@]}"); e=$(median "${enc[@]}")
overhead=$(echo "scale=1; ($e - $p) * 100 / $p" | bc)

# raw throughput on an uncompressed stream
tar -C / -cf "$work/data.tar" "${data#/}"
raw=$(stat -c %s "$work/data.tar")
enc_raw() {
  rm -rf "$work/r3"
  timed drkit --repo "$work/r3" backup files --name b --path "$data" --compress none --encrypt-to "$work/keys/public.asc"
}
dec_raw() {
  rm -rf "$work/out"
  timed drkit --repo "$work/r3" restore --name b --latest --to "$work/out" --secret-key "$work/keys/secret.asc"
}
none_raw() { rm -rf "$work/r4"; timed drkit --repo "$work/r4" backup files --name b --path "$data" --compress none; }
gpg_enc() {
  timed gpg --batch --yes --pinentry-mode loopback --passphrase-file "$work/pass" --symmetric \
    --cipher-algo AES256 -z 0 -o "$work/data.tar.gpg" "$work/data.tar"
}
gpg_dec() {
  timed gpg --batch --yes --pinentry-mode loopback --passphrase-file "$work/pass" -o "$work/data.out" \
    --decrypt "$work/data.tar.gpg"
}
ge=(); gd=(); de=(); dd_=(); dn=()
for i in $(seq "$runs"); do
  ge+=("$(gpg_enc)"); gd+=("$(gpg_dec)"); de+=("$(enc_raw)"); dd_+=("$(dec_raw)"); dn+=("$(none_raw)")
done

printf '\nbackup of %s MiB (zstd -3), median of %s:\n' "$((bytes / 1048576))" "$runs"
printf '  %-34s %8.2fs\n' "drkit, unencrypted" "$p" "drkit, --encrypt-to (OpenPGP AES-256)" "$e"
printf '  encryption overhead: %s%% (target <= 15%%)\n' "$overhead"
printf '\nraw OpenPGP throughput on a %s MiB tar, no compression, median of %s:\n' "$((raw / 1048576))" "$runs"
printf '  %-44s %8s MiB/s\n' \
  "gpg --symmetric --cipher-algo AES256 -z 0" "$(mbps "$raw" "$(median "${ge[@]}")")" \
  "gpg --decrypt" "$(mbps "$raw" "$(median "${gd[@]}")")" \
  "drkit backup --compress none (no encryption)" "$(mbps "$raw" "$(median "${dn[@]}")")" \
  "drkit backup --compress none --encrypt-to" "$(mbps "$raw" "$(median "${de[@]}")")" \
  "drkit restore --secret-key (decrypt + untar)" "$(mbps "$raw" "$(median "${dd_[@]}")")"
