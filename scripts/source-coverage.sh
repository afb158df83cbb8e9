#!/usr/bin/env bash
# Line coverage of core/, oracle/ and subject/ from replaying a corpus:
# builds `mmdiff` with `-C instrument-coverage` (stable rustc's source-based
# coverage) into a target directory of its own, runs `mmdiff replay` on the
# inputs (oracle and subject in lockstep), merges the raw profiles with
# llvm-profdata and reports with llvm-cov, both from rustup's llvm-tools
# component, which it installs when missing (they must match rustc's LLVM,
# so a distribution's llvm package will not do). See docs/coverage.md.
#
#   scripts/source-coverage.sh                          # corpus/
#   scripts/source-coverage.sh corpus/conformance artifacts/fuzz
#
# Writes to $COVERAGE_OUT (default target/source-coverage): report.txt
# (per file), html/index.html, summary.txt (the per-crate lines printed
# last), replay.txt, mmdiff.profdata. The instrumented build goes to
# $COVERAGE_TARGET_DIR (default $COVERAGE_OUT/build), apart from the normal
# target/, whose artifacts the flag would otherwise invalidate.
set -euo pipefail

step() { echo "source-coverage: $*" >&2; }
fail() { echo "source-coverage: FAILED: $*" >&2; exit 1; }

# Inputs are resolved against the caller's directory, before the cd.
inputs=()
for i in "${@:-}"; do
    [ -n "$i" ] || continue
    inputs+=("$(realpath -e -- "$i")") || fail "no such file or directory: $i"
done
cd "$(dirname "$0")/.."
root=$PWD
[ ${#inputs[@]} -gt 0 ] || inputs=("$root/corpus")
out=${COVERAGE_OUT:-$root/target/source-coverage}
build=${COVERAGE_TARGET_DIR:-$out/build}
mkdir -p "$out"
out=$(realpath "$out")

host=$(rustc -vV | sed -n 's/^host: //p')
tools="$(rustc --print sysroot)/lib/rustlib/$host/bin"
if [ ! -x "$tools/llvm-profdata" ] || [ ! -x "$tools/llvm-cov" ]; then
    step "installing rustup's llvm-tools component"
    rustup component add llvm-tools-preview >&2 || fail "rustup component add llvm-tools-preview"
fi
for t in llvm-profdata llvm-cov; do
    [ -x "$tools/$t" ] || fail "$t not found in $tools after installing llvm-tools"
done

# The dev profile: counters map to lines exactly when nothing is inlined
# away, and the corpus replays in seconds even unoptimized.
step "building mmdiff with -C instrument-coverage into $build"
RUSTFLAGS="${RUSTFLAGS:-} -C instrument-coverage" CARGO_TARGET_DIR="$build" \
    cargo build --bin mmdiff -p mmdiff-triage >&2 || fail "cargo build"
bin=$build/debug/mmdiff

rm -rf "$out/profraw"
mkdir -p "$out/profraw"
step "replaying ${inputs[*]}"
# %p: one raw profile per process; %m: per binary signature.
status=0
LLVM_PROFILE_FILE="$out/profraw/mmdiff-%p-%m.profraw" \
    "$bin" replay --quiet "${inputs[@]}" >"$out/replay.txt" 2>&1 || status=$?
# A failing input still covers code: report it, go on.
[ "$status" -eq 0 ] || step "warning: replay exited $status (see $out/replay.txt)"
step "replay: $(tail -1 "$out/replay.txt")"
shopt -s nullglob
raw=("$out"/profraw/*.profraw)
[ ${#raw[@]} -gt 0 ] || fail "no raw profile was written to $out/profraw"
"$tools/llvm-profdata" merge -sparse "${raw[@]}" -o "$out/mmdiff.profdata" ||
    fail "llvm-profdata merge"

cov() { "$tools/llvm-cov" "$1" "$bin" -instr-profile="$out/mmdiff.profdata" "${@:2}"; }
crates=(core oracle subject)
cov report "${crates[@]/%//src}" >"$out/report.txt" || fail "llvm-cov report"
rm -rf "$out/html"
cov show -format=html -output-dir="$out/html" -show-line-counts-or-regions \
    "${crates[@]/%//src}" || fail "llvm-cov show"

# One report per crate; its TOTAL line reads: regions, missed, cover,
# functions, missed, executed, lines, missed, cover, ...
{
    printf '%-8s %-24s %-10s %s\n' crate lines functions regions
    for c in "${crates[@]}"; do
        cov report "$c/src" | awk -v c="$c" '$1 == "TOTAL" {
            printf "%-8s %-24s %-10s %s\n", c,
                sprintf("%s (%d of %d)", $10, $8 - $9, $8), $7, $4 }'
    done
} >"$out/summary.txt" || fail "llvm-cov report per crate"
[ "$(wc -l <"$out/summary.txt")" -eq $((${#crates[@]} + 1)) ] ||
    fail "unexpected llvm-cov report format (see $out/summary.txt)"

echo "source coverage of mmdiff replay ${inputs[*]#"$root/"}:"
cat "$out/summary.txt"
echo "per file: $out/report.txt"
echo "html:     $out/html/index.html"
