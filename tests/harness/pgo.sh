#!/usr/bin/env bash
# `make release-pgo`: slipway's release build, optimised with a profile of its own workloads
# (profile-guided optimisation: rustc's -Cprofile-generate, then -Cprofile-use).
#   1. build an instrumented release binary (target/pgo/gen)
#   2. run the training workloads with it (tests/harness/pgo_train.py); each process writes a raw
#      profile into target/pgo/raw
#   3. merge the raw profiles with llvm-profdata (LLVM 19 or later reads the raw profiles of
#      rustc 1.95, whose LLVM is 22; Debian's default llvm-profdata, LLVM 14, cannot)
#   4. build the release binary with the merged profile: target/pgo/use/release/slipway
# Both builds have target directories of their own, so target/release stays as it is. The merged
# profile's name carries its hash: a new profile changes the flags, and cargo rebuilds with it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${SLIPWAY_VENV:-$root/.venv}/bin/python
pgo=$root/target/pgo
cargo=${CARGO:-cargo}

find_profdata() {
  if [[ -n "${LLVM_PROFDATA:-}" ]]; then echo "$LLVM_PROFDATA"; return; fi
  local v
  for v in 22 21 20 19; do
    for p in "llvm-profdata-$v" "/usr/lib/llvm-$v/bin/llvm-profdata"; do
      if command -v "$p" >/dev/null 2>&1; then command -v "$p"; return; fi
    done
  done
  return 0 # none found: the caller sees an empty answer (and `set -e` does not end the script)
}

profdata=$(find_profdata)
if [[ -z "$profdata" ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "pgo: installing llvm-19 (Debian) for llvm-profdata" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends llvm-19 >/dev/null
    profdata=$(find_profdata)
  fi
  if [[ -z "$profdata" ]]; then
    echo "pgo: no llvm-profdata of LLVM 19 or later; install llvm-19 or set LLVM_PROFDATA" >&2
    exit 1
  fi
fi

echo "pgo: 1/4 instrumented build (target/pgo/gen)" >&2
RUSTFLAGS="-Cprofile-generate=$pgo/raw" "$cargo" build --release --bin slipway --target-dir "$pgo/gen"

# The build scripts were instrumented too and wrote profiles while the build ran: only the
# training run's profiles count.
rm -rf "$pgo/raw" && mkdir -p "$pgo/raw"
echo "pgo: 2/4 training run (tests/harness/pgo_train.py)" >&2
LLVM_PROFILE_FILE="$pgo/raw/slipway-%p-%m.profraw" "$py" "$here/pgo_train.py" --slipway "$pgo/gen/release/slipway"

echo "pgo: 3/4 merging $(find "$pgo/raw" -name '*.profraw' | wc -l) raw profiles with $profdata" >&2
"$profdata" merge -o "$pgo/merged.profdata" "$pgo"/raw/*.profraw
hash=$(sha256sum "$pgo/merged.profdata" | cut -c1-16)
profile=$pgo/slipway-$hash.profdata
mv "$pgo/merged.profdata" "$profile"
find "$pgo" -maxdepth 1 -name 'slipway-*.profdata' ! -name "slipway-$hash.profdata" -delete

echo "pgo: 4/4 release build with the profile (target/pgo/use)" >&2
RUSTFLAGS="-Cprofile-use=$profile" "$cargo" build --release --bin slipway --target-dir "$pgo/use"
echo "pgo: $pgo/use/release/slipway" >&2
