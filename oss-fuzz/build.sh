#!/bin/bash -eu
# The OSS-Fuzz and ClusterFuzzLite build of mmdiff's cargo-fuzz targets.
# The builder image runs it as $SRC/build.sh (oss-fuzz/Dockerfile copies it
# there; .clusterfuzzlite/build.sh calls it), with SRC, OUT, WORK,
# SANITIZER and RUSTFLAGS set by the image's `compile`.
# scripts/oss-fuzz-local.sh runs the same script without Docker.
#
# Steps (MMDIFF_BUILD_STEPS, default all three, in this order):
#   fuzzers  `cargo fuzz build` of every fuzz/fuzz_targets/*.rs, each
#            binary copied to $OUT/<target>;
#   seeds    $OUT/<target>_seed_corpus.zip, built from corpus/ by the
#            encoder: `mmdiff convert corpus -o DIR` for the targets that
#            read fuzz bytes, the scenario files themselves for
#            scenario_parser (which reads text);
#   options  oss-fuzz/<target>.options and the dictionaries they name
#            (fuzz/differential.dict, oss-fuzz/*.dict) into $OUT.
# A failing step stops the build with a message naming it.
#
# Environment besides OSS-Fuzz's:
#   MMDIFF_SRC             the repository (default $SRC/mmdiff)
#   MMDIFF_FUZZ_DIR        the cargo-fuzz crate (default <repo>/fuzz)
#   MMDIFF_FUZZ_TARGET_DIR cargo's target dir for it (default
#                          $CARGO_TARGET_DIR, else <fuzz dir>/target)
#   MMDIFF_CORPUS          the scenarios (default <repo>/corpus)
#   MMDIFF                 a built mmdiff binary (default: built here)
#   FEATURES               cargo features of the fuzz crate (`planted`)
set -Eeuo pipefail
# Byte-order globs and sorts: the same seed order, hence the same zips,
# on every machine.
export LC_ALL=C

step=setup
trap 'rc=$?; echo "build.sh: FAILED in step \`$step\` (a command exited with status $rc; its output is above)" >&2; exit $rc' ERR
fail() {
    echo "build.sh: FAILED in step \`$step\`: $*" >&2
    exit 1
}

[ -n "${OUT:-}" ] || fail "OUT is not set (the directory the fuzzers go to)"
[ -n "${WORK:-}" ] || fail "WORK is not set (a scratch directory)"
if [ -z "${MMDIFF_SRC:-}" ] && [ -z "${SRC:-}" ]; then
    fail "neither MMDIFF_SRC nor SRC is set: where is the repository?"
fi
root=${MMDIFF_SRC:-$SRC/mmdiff}
[ -d "$root" ] || fail "no repository at $root"
root=$(cd "$root" && pwd)
here=$root/oss-fuzz
fuzz_dir=${MMDIFF_FUZZ_DIR:-$root/fuzz}
corpus=${MMDIFF_CORPUS:-$root/corpus}
mkdir -p "$OUT" "$WORK"
cd "$root"

# The targets that read scenario text; every other target reads fuzz
# bytes (mmdiff_core::bytes). scripts/oss-fuzz-local.sh has the same list.
text_targets=" scenario_parser "
reads_text() { [[ $text_targets == *" $1 "* ]]; }

step=targets
[ -d "$fuzz_dir/fuzz_targets" ] || fail "no directory $fuzz_dir/fuzz_targets (the cargo-fuzz crate; MMDIFF_FUZZ_DIR=${MMDIFF_FUZZ_DIR:-unset})"
targets=()
for f in "$fuzz_dir"/fuzz_targets/*.rs; do
    [ -e "$f" ] || continue
    targets+=("$(basename "$f" .rs)")
done
[ ${#targets[@]} -gt 0 ] || fail "no fuzz targets (*.rs) in $fuzz_dir/fuzz_targets"

steps=" ${MMDIFF_BUILD_STEPS:-fuzzers seeds options} "
for s in $steps; do
    case $s in
        fuzzers | seeds | options) ;;
        *) fail "unknown step \`$s\` in MMDIFF_BUILD_STEPS (fuzzers, seeds, options)" ;;
    esac
done
wants() { [[ $steps == *" $1 "* ]]; }

if wants fuzzers; then
    step=fuzzers
    # -O: release, as `mmdiff explain` and `cargo run --release` build, so
    #   that a testcase reproduces the same way there (no
    #   --debug-assertions: an overflow check that fires only in the
    #   fuzzer would not reproduce in `mmdiff explain`).
    # --sanitizer none: the sanitizer comes from RUSTFLAGS, which OSS-Fuzz's
    #   `compile` sets (-Zsanitizer=$SANITIZER); cargo fuzz must not add a
    #   second one. Locally, -s none builds on a stable toolchain.
    # --no-trace-compares: faster execs and more coverage in the same time
    #   for these targets (measured in docs/fuzzing.md, "Build flags").
    flags=(-O --sanitizer none --no-trace-compares)
    if [ -n "${FEATURES:-}" ]; then
        flags+=(--features "$FEATURES")
    fi
    if [ -n "${MMDIFF_FUZZ_DIR:-}" ]; then
        flags+=(--fuzz-dir "$fuzz_dir")
    fi
    # Passed as CARGO_TARGET_DIR, not --target-dir: OSS-Fuzz's cargo wrapper
    # turns `cargo fuzz build` into a plain `cargo build` for coverage
    # builds and drops the arguments, but keeps the environment.
    fuzz_target_dir=${MMDIFF_FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$fuzz_dir/target}}
    CARGO_TARGET_DIR=$fuzz_target_dir cargo fuzz build "${flags[@]}"
    host=$(rustc -vV | sed -n 's/^host: //p')
    bin_dir=$fuzz_target_dir/$host/release
    for t in "${targets[@]}"; do
        [ -f "$bin_dir/$t" ] || fail "cargo fuzz build left no binary $bin_dir/$t"
        cp "$bin_dir/$t" "$OUT/$t"
    done
    echo "build.sh: fuzzers in $OUT: ${targets[*]}"
fi

if wants seeds; then
    step=seeds
    [ -d "$corpus" ] || fail "no corpus directory $corpus"
    mmdiff=${MMDIFF:-}
    if [ -z "$mmdiff" ]; then
        # The host tool, not a fuzzer: without the image's RUSTFLAGS
        # (sanitizer, --cfg fuzzing), which are meant for the targets.
        RUSTFLAGS="" cargo build --release --bin mmdiff
        mmdiff=${CARGO_TARGET_DIR:-$root/target}/release/mmdiff
    fi
    [ -x "$mmdiff" ] || fail "no mmdiff binary at $mmdiff (MMDIFF=${MMDIFF:-unset})"

    # The archive writer (oss-fuzz/seedzip.rs): needs only rustc, not zip.
    zipper=$WORK/seedzip
    if [ ! -x "$zipper" ] || [ "$here/seedzip.rs" -nt "$zipper" ]; then
        linker=()
        # The builder image links Rust with clang (cargo reads this variable;
        # a bare rustc does not).
        if [ -n "${CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER:-}" ]; then
            linker=(-C "linker=$CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER")
        fi
        rustc --edition 2021 -O "${linker[@]}" "$here/seedzip.rs" -o "$zipper.tmp"
        mv -f "$zipper.tmp" "$zipper"
    fi

    seeds=$WORK/mmdiff-seeds
    rm -rf "$seeds"
    mkdir -p "$seeds/bytes" "$seeds/text"
    # Converting runs no model: a planted fault meant for the fuzzers
    # (MMDIFF_PLANTED) is not the converter's business.
    env -u MMDIFF_PLANTED "$mmdiff" convert "$corpus" -o "$seeds/bytes" > /dev/null
    # The text seeds, named as `convert` names the byte ones
    # (conformance/hmm/x.mms -> conformance__hmm__x.mms); hidden entries
    # skipped as convert skips them.
    while IFS= read -r -d '' f; do
        rel=${f#"$corpus"/}
        cp "$f" "$seeds/text/${rel//\//__}"
    done < <(find "$corpus" -mindepth 1 -name '.*' -prune -o -type f -name '*.mms' -print0)

    for t in "${targets[@]}"; do
        if reads_text "$t"; then src=$seeds/text; else src=$seeds/bytes; fi
        files=("$src"/*)
        [ -e "${files[0]}" ] || fail "no seeds for $t in $src (is $corpus empty?)"
        "$zipper" create "$OUT/${t}_seed_corpus.zip" "${files[@]}"
        echo "build.sh: ${t}_seed_corpus.zip: ${#files[@]} seeds"
    done
fi

if wants options; then
    step=options
    for t in "${targets[@]}"; do
        if [ -f "$here/$t.options" ]; then
            cp "$here/$t.options" "$OUT/$t.options"
        fi
    done
    for d in "$fuzz_dir"/*.dict "$here"/*.dict; do
        [ -e "$d" ] || continue
        cp "$d" "$OUT/"
    done
    # A dictionary named in an options file but missing would be ignored
    # without a word by ClusterFuzz.
    for t in "${targets[@]}"; do
        [ -f "$OUT/$t.options" ] || continue
        dict=$(sed -n 's/^[[:space:]]*dict[[:space:]]*=[[:space:]]*//p' "$OUT/$t.options")
        if [ -n "$dict" ] && [ ! -f "$OUT/$dict" ]; then
            fail "$t.options names the dictionary $dict, which is not in \$OUT"
        fi
    done
    echo "build.sh: options and dictionaries in $OUT"
fi
