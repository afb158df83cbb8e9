#!/usr/bin/env bash
# A short libFuzzer run of the `differential` target on the seed corpus,
# from nothing but a stable Rust toolchain (and a C++ compiler for
# libFuzzer): installs cargo-fuzz if missing, regenerates the seeds
# (scripts/fuzz-seeds.sh), builds with `-s none` (no sanitizer: works on
# stable) and fuzzes for SECONDS (default 60). Exits 1, printing the
# divergence and its scenario, if the fuzzer found a crash.
#
# usage: scripts/fuzz-smoke.sh [SECONDS]
# env:   FEATURES=planted MMDIFF_PLANTED=<fault>  plant a fault (to check
#        that the smoke run does report one); FUZZ_SEED=<n> the libFuzzer
#        seed (default: from the commit hash, 1 outside git).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
target=differential
# Why these flags: docs/fuzzing.md, "Build flags".
build_flags=(-s none --no-trace-compares)
if [ -n "${FEATURES:-}" ]; then
    build_flags+=(--features "$FEATURES")
fi

if ! command -v cargo-fuzz > /dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

scripts/fuzz-seeds.sh

seed=${FUZZ_SEED:-1}
if [ -z "${FUZZ_SEED:-}" ] && rev=$(git rev-parse HEAD 2> /dev/null); then
    # 28 bits of the commit: each commit explores other inputs, reproducibly.
    seed=$((16#${rev:0:7}))
fi

mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cd fuzz
cargo fuzz build "${build_flags[@]}" "$target"
echo "fuzz-smoke: $target for ${seconds}s, -seed=$seed" >&2
set +e
# -timeout: an input that runs this long is reported as a hang.
# -dict: whole ops as tokens (scripts/fuzz-dict.sh; measured in docs/fuzzing.md).
cargo fuzz run "${build_flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -seed="$seed" -timeout=30 -print_final_stats=1 \
    -dict="$PWD/differential.dict" \
    2>&1 | tee "$log" | grep -E '^#[0-9]+[[:space:]]+(INITED|DONE|pulse)|^stat::' >&2
status=${PIPESTATUS[0]}
set -e

if [ "$status" -eq 0 ]; then
    echo "fuzz-smoke: no crash in ${seconds}s"
    exit 0
fi
echo
echo "fuzz-smoke: FAILED: the fuzzer stopped with status $status"
# The divergence report, from the panic message to the backtrace.
awk '/^mmdiff divergence/ { p = 1 } p && /^(stack backtrace:|note: run with|==[0-9]+==)/ { p = 0 } p' "$log"
grep -E 'Test unit written to|ERROR: libFuzzer' "$log" || true
if ! grep -q '^mmdiff divergence' "$log"; then
    # Not a divergence (a timeout, an out-of-memory, a crash outside the
    # harness): show the end of the log.
    tail -40 "$log"
fi
if [ -n "${FEATURES:-}" ]; then
    echo "Reproduce with: MMDIFF_PLANTED=${MMDIFF_PLANTED:-} cargo run --release --features $FEATURES -- explain <the test unit above>"
else
    echo "Reproduce with: cargo run --release -- explain <the test unit above>"
fi
exit 1
