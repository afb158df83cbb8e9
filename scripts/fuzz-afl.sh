#!/usr/bin/env bash
# An AFL++ run of the `mmdiff-afl` driver (afl/) on the seed corpus:
# installs cargo-afl and builds AFL++'s runtime if missing, regenerates the
# seeds (scripts/fuzz-seeds.sh), builds with `cargo afl build --release`
# and fuzzes for SECONDS (default 60) into afl/out/. Exits 1, printing each
# crash's divergence and scenario, if AFL saved a crash.
#
# usage: scripts/fuzz-afl.sh [SECONDS] [afl-fuzz options...]
#   e.g. scripts/fuzz-afl.sh 600 -M main    (then, in other shells,
#        scripts/fuzz-afl.sh 600 -S s1, ... : one sync dir, afl/out/)
# env:   FEATURES=planted MMDIFF_PLANTED=<fault>  plant a fault;
#        AFL_OUT=<dir> the output/sync dir (default afl/out).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
out=${AFL_OUT:-afl/out}
features=()
if [ -n "${FEATURES:-}" ]; then
    features=(--features "$FEATURES")
fi

if ! command -v cargo-afl > /dev/null 2>&1; then
    echo "fuzz-afl: installing cargo-afl" >&2
    cargo install cargo-afl --locked
fi
# AFL++'s runtime, built once per rustc; "already built" is fine.
if ! config=$(cargo afl config --build 2>&1); then
    if ! grep -q "already built" <<< "$config"; then
        echo "$config" >&2
        exit 1
    fi
fi

scripts/fuzz-seeds.sh
(cd afl && cargo afl build --release "${features[@]}")
bin=afl/target/release/mmdiff-afl

# Fuzzing on a shared machine without tuning it: no CPU governor check,
# no core binding, no check of the core dump handler, plain log output.
export AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_UI=1
mkdir -p "$out"
echo "fuzz-afl: ${seconds}s into $out" >&2
# -V: stop after SECONDS. Exit status 0 whether or not it found crashes.
# -x: whole ops as tokens (scripts/fuzz-dict.sh), as for libFuzzer.
cargo afl fuzz -i fuzz/seeds/differential -o "$out" -V "$seconds" -x fuzz/differential.dict "$@" "$bin"

crashes=()
while IFS= read -r -d '' f; do
    crashes+=("$f")
done < <(find "$out" -path '*/crashes/id:*' -type f -print0 | sort -z)
if [ ${#crashes[@]} -eq 0 ]; then
    echo "fuzz-afl: no crash in ${seconds}s"
    exit 0
fi
echo
echo "fuzz-afl: FAILED: ${#crashes[@]} crash(es) in $out"
# The first few: one bug usually leaves many crash files.
for f in "${crashes[@]:0:3}"; do
    echo "=== $f"
    # Outside AFL the driver runs stdin once: the panic prints the report.
    "$bin" < "$f" 2>&1 | awk '/^mmdiff divergence/ { p = 1 } p && /^(stack backtrace:|note: run with)/ { p = 0 } p' || true
done
if [ ${#crashes[@]} -gt 3 ]; then
    echo "(and $((${#crashes[@]} - 3)) more; \`cargo run --release -- triage $out\` groups them)"
fi
if [ -n "${FEATURES:-}" ]; then
    echo "Reproduce with: MMDIFF_PLANTED=${MMDIFF_PLANTED:-} cargo run --release --features $FEATURES -- explain <crash file>"
else
    echo "Reproduce with: cargo run --release -- explain <crash file>"
fi
exit 1
