#!/usr/bin/env bash
# Three minimizers side by side on the planted faults (corpus/zoo/): each
# zoo repro is buried in unrelated ops (triage/examples/bury.rs), then
# reduced by `mmdiff minimize`, by `cargo fuzz tmin` on the same bytes, and
# by proptest-state-machine's shrinking of its own failing run. Prints one
# line per fault: ops and signature of each result (a signature other than
# the fault's is a drift). Installs cargo-fuzz when missing. Slow (minutes);
# not part of CI.
#
#   scripts/compare-minimizers.sh            # NOISE=200 SEED=1 CASES=512 TMIN_RUNS=5000
set -euo pipefail
cd "$(dirname "$0")/.."
noise=${NOISE:-200}
seed=${SEED:-1}
cases=${CASES:-512}
tmin_runs=${TMIN_RUNS:-5000}
out=$PWD/target/compare-minimizers
mkdir -p "$out"

step() { echo "compare-minimizers: $*" >&2; }
fail() { echo "compare-minimizers: FAILED: $*" >&2; exit 1; }

step "building mmdiff and bury with planted faults"
cargo build --release --features planted --bin mmdiff --example bury >&2 || fail "cargo build"
mmdiff=$PWD/target/release/mmdiff
command -v cargo-fuzz >/dev/null || { step "installing cargo-fuzz"; cargo install cargo-fuzz >&2 || fail "cargo install cargo-fuzz"; }
step "building the libFuzzer target"
(cd fuzz && cargo fuzz build -s none --features planted differential >&2) || fail "cargo fuzz build"

# Ops of a scenario file: lines that are neither headers, comments nor blank.
ops_of() { grep -cvE '^[[:space:]]*(#|$)' "$1" || true; }
signature_of() { # replay prints the signature of a failing file
    MMDIFF_PLANTED=$1 "$mmdiff" replay "$2" 2>/dev/null | sed -n 's/^ *signature: //p' | head -1
}
# Transitions in proptest's "minimal failing input": the items of the
# second tuple element, a list printed at four spaces of indentation.
proptest_ops() {
    awk '/minimal failing input/ {m=1} m && $0=="    [" {l=1; next}
         l && /^    \]/ {print n+0; exit}
         l && /^        [A-Z][A-Za-z]*( \{|,)?$/ {n++}' "$1"
}

# Failing proptest runs persist their seeds; keep the committed file as it is.
regressions=proptest-regressions/tests/state_machine.txt
cp "$regressions" "$out/regressions.bak"
trap 'cp "$out/regressions.bak" "$regressions"' EXIT

printf '%-40s %-8s %-26s %-26s %s\n' fault known ours tmin proptest
for zoo in corpus/zoo/*.mms; do
    f=$(basename "$zoo" .mms)
    known=$(sed -n 's/^#! known-minimum: //p' "$zoo")
    want=$(sed -n 's/^#! signature: //p' "$zoo")
    "target/release/examples/bury" "$zoo" "$noise" "$seed" "$out/$f" 2>/dev/null || fail "bury $f"

    MMDIFF_PLANTED=$f "$mmdiff" minimize "$out/$f.mms" -o "$out/$f.ours.mms" --quiet 2>/dev/null || fail "minimize $f"
    ours="$(ops_of "$out/$f.ours.mms") $( [ "$(signature_of "$f" "$out/$f.ours.mms")" = "$want" ] && echo same || echo DRIFT)"

    (cd fuzz && MMDIFF_PLANTED=$f cargo fuzz tmin -s none --features planted differential \
        "$out/$f.bin" -r "$tmin_runs") >"$out/$f.tmin.log" 2>&1 || true
    result=$(grep -o 'failed to minimize beyond [^ ]*' "$out/$f.tmin.log" | tail -1 | awk '{print $5}')
    if [ -n "$result" ]; then
        cp "fuzz/$result" "$out/$f.tmin.bin" 2>/dev/null || cp "$result" "$out/$f.tmin.bin"
        "$mmdiff" convert "$out/$f.tmin.bin" > "$out/$f.tmin.mms"
        tmin="$(ops_of "$out/$f.tmin.mms") $( [ "$(signature_of "$f" "$out/$f.tmin.bin")" = "$want" ] && echo same || echo DRIFT)"
    else
        tmin="(no result: $out/$f.tmin.log)"
    fi

    MMDIFF_PLANTED=$f MMDIFF_PROPTEST_CASES=$cases RUST_BACKTRACE=0 \
        cargo test --release -p mmdiff-corpus --test state_machine --features mmdiff-subject/planted \
        >"$out/$f.proptest.log" 2>&1 || true
    proptest=$(proptest_ops "$out/$f.proptest.log")
    [ -n "$proptest" ] || proptest="(no failure in $cases cases)"

    printf '%-40s %-8s %-26s %-26s %s\n' "$f" "$known" "$ours" "$tmin" "$proptest"
done
