#!/usr/bin/env bash
# The OSS-Fuzz build of mmdiff run here, without Docker, then a short run of
# what it built:
#   1. SRC, OUT and WORK laid out as in OSS-Fuzz's builder image (under
#      target/oss-fuzz-local/), cargo-fuzz installed if it is missing, a
#      nightly toolchain only when a sanitizer is asked for;
#   2. oss-fuzz/build.sh, the script OSS-Fuzz and ClusterFuzzLite run:
#      every target of fuzz/ built and copied to $OUT with its seed-corpus
#      zip, .options file and dictionary;
#   3. every fuzzer in $OUT run for SECONDS on its unzipped seed corpus,
#      with the libFuzzer flags its .options file gives (as ClusterFuzz
#      passes them: `differential` gets the op dictionary);
#   4. the corpus scenarios that came from fuzzer findings (a `#! found-by:`
#      or `#! minimized-from:` header; all of corpus/regressions/ if no
#      scenario has one) replayed through the built fuzzers: as fuzz bytes
#      (`mmdiff convert`) through the byte targets, as text through
#      scenario_parser.
# A step that fails stops the run with a message naming it (exit 1); a
# fuzzer that crashes prints the divergence and its scenario, and the run
# exits 1 after the other steps.
#
# usage: scripts/oss-fuzz-local.sh [-s none|address] [-t TARGET=SECONDS]... [SECONDS]
#   SECONDS            fuzzing time of each target (default 20)
#   -t TARGET=SECONDS  another time for one target (CI: -t differential=60)
#   -s SANITIZER       none (default: a stable toolchain is enough) or
#                      address (nightly: NIGHTLY=<toolchain>, default nightly)
# env: FEATURES=planted MMDIFF_PLANTED=<fault>  plant a fault in the subject
#        (to see a crash reported); FUZZ_SEED=<n> libFuzzer's seed (default:
#        from the commit hash, 1 outside git); MMDIFF=<binary> a built
#        mmdiff (default: cargo build --release); OSS_FUZZ_LOCAL_DIR where
#        src/, out/ and work/ go (default target/oss-fuzz-local);
#        OSS_FUZZ_LOCAL_INSTALL=0 fail instead of installing cargo-fuzz;
#        MMDIFF_FUZZ_DIR, MMDIFF_FUZZ_TARGET_DIR as for oss-fuzz/build.sh
#        (the default target dir, fuzz/target, is the one
#        scripts/fuzz-smoke.sh builds in, with the same flags).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export LC_ALL=C

step=arguments
trap 'rc=$?; echo "oss-fuzz-local: FAILED in step \`$step\` (a command exited with status $rc; its output is above)" >&2; exit $rc' ERR
fail() {
    echo "oss-fuzz-local: FAILED in step \`$step\`: $*" >&2
    exit 1
}
usage() {
    sed -n 's/^# \{0,1\}//; /^usage:/,/^env:/p' "$0" | sed '$d' >&2
    exit 2
}
is_seconds() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }

seconds=20
sanitizer=none
# Per-target times, looked up by name (never iterated).
declare -A target_seconds=()
while [ $# -gt 0 ]; do
    case $1 in
        -s)
            [ $# -ge 2 ] || usage
            sanitizer=$2
            shift 2
            ;;
        -t)
            [ $# -ge 2 ] || usage
            name=${2%%=*}
            secs=${2#*=}
            { [ "$name" != "$2" ] && is_seconds "$secs"; } || {
                echo "oss-fuzz-local: -t takes TARGET=SECONDS, not \`$2\`" >&2
                usage
            }
            target_seconds[$name]=$secs
            shift 2
            ;;
        -h | --help) usage ;;
        *)
            is_seconds "$1" || {
                echo "oss-fuzz-local: \`$1\` is not a number of seconds" >&2
                usage
            }
            seconds=$1
            shift
            ;;
    esac
done
case $sanitizer in
    none | address) ;;
    *)
        echo "oss-fuzz-local: -s takes none or address (OSS-Fuzz's Rust sanitizer), not \`$sanitizer\`" >&2
        usage
        ;;
esac

started=$SECONDS
timing() { echo "oss-fuzz-local: $step took $((SECONDS - $1)) s"; }

step=tools
t0=$SECONDS
if ! command -v cargo-fuzz > /dev/null 2>&1; then
    if [ "${OSS_FUZZ_LOCAL_INSTALL:-1}" = 0 ]; then
        fail "cargo-fuzz is not installed (cargo install cargo-fuzz --locked)"
    fi
    echo "oss-fuzz-local: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi
# The host tool, built with the caller's toolchain before a sanitizer run
# switches to nightly (so that it is the same binary `cargo run --release`
# uses, not a second build of it).
if [ -z "${MMDIFF:-}" ]; then
    cargo build --release --quiet --bin mmdiff
    MMDIFF=${CARGO_TARGET_DIR:-$root/target}/release/mmdiff
fi
[ -x "$MMDIFF" ] || fail "no mmdiff binary at $MMDIFF"
export MMDIFF
if [ "$sanitizer" != none ]; then
    # -Zsanitizer is nightly-only (cargo fuzz's own detection of a stable
    # sanitizer is a placeholder).
    toolchain=${NIGHTLY:-nightly}
    if ! rustup run "$toolchain" rustc --version > /dev/null 2>&1; then
        echo "oss-fuzz-local: installing the $toolchain toolchain" >&2
        rustup toolchain install "$toolchain" --profile minimal
    fi
    export RUSTUP_TOOLCHAIN=$toolchain
fi
timing "$t0"

step=setup
base=${OSS_FUZZ_LOCAL_DIR:-$root/target/oss-fuzz-local}
mkdir -p "$base"
base=$(cd "$base" && pwd)
# As the builder image has them: the source under $SRC with build.sh
# beside it, the fuzzers and their files in $OUT (emptied, so that only
# this build's fuzzers run), scratch space in $WORK.
export SRC=$base/src OUT=$base/out WORK=$base/work
export MMDIFF_SRC=$root
export SANITIZER=$sanitizer FUZZING_ENGINE=libfuzzer FUZZING_LANGUAGE=rust ARCHITECTURE=x86_64
rm -rf "$OUT"
mkdir -p "$SRC" "$OUT" "$WORK"
cp oss-fuzz/build.sh "$SRC/build.sh"
if [ "$sanitizer" != none ]; then
    # What OSS-Fuzz's `compile` exports for Rust.
    export RUSTFLAGS="--cfg fuzzing -Zsanitizer=$sanitizer -Cdebuginfo=1 -Cforce-frame-pointers"
    # Sanitizer builds must not share a target dir with -s none builds:
    # each switch would rebuild everything.
    export MMDIFF_FUZZ_TARGET_DIR=${MMDIFF_FUZZ_TARGET_DIR:-$WORK/target-$sanitizer}
fi
# Without a sanitizer RUSTFLAGS stay the caller's, so that the build is the
# one scripts/fuzz-smoke.sh makes (cargo fuzz adds --cfg fuzzing itself).

step=build
t0=$SECONDS
bash "$SRC/build.sh"
timing "$t0"

fuzzers=()
for f in "$OUT"/*; do
    name=$(basename "$f")
    # OSS-Fuzz's rule: an executable without an extension is a fuzzer.
    if [ -f "$f" ] && [ -x "$f" ] && [[ $name != *.* ]]; then
        fuzzers+=("$name")
    fi
done
[ ${#fuzzers[@]} -gt 0 ] || fail "build.sh put no fuzzer in $OUT"
# The targets that read scenario text (oss-fuzz/build.sh has the same list).
text_targets=" scenario_parser "
reads_text() { [[ $text_targets == *" $1 "* ]]; }

# The [libfuzzer] section of an .options file as libFuzzer flags, a
# dictionary named relative to $OUT (as ClusterFuzz resolves it).
options_flags() {
    local file=$1 section="" line key value
    [ -f "$file" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%%#*}
        [[ $line =~ ^[[:space:]]*$ ]] && continue
        if [[ $line =~ ^[[:space:]]*\[([^]]*)\] ]]; then
            section=${BASH_REMATCH[1]}
            continue
        fi
        [ "$section" = libfuzzer ] || continue
        [[ $line =~ ^[[:space:]]*([A-Za-z_]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$ ]] ||
            fail "$file: cannot read \`$line\`"
        key=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]}
        if [ "$key" = dict ]; then
            value=$OUT/$value
        fi
        printf '%s\n' "-$key=$value"
    done < "$file"
}

step=fuzz
t0=$SECONDS
seed=${FUZZ_SEED:-1}
if [ -z "${FUZZ_SEED:-}" ] && rev=$(git rev-parse HEAD 2> /dev/null); then
    # 28 bits of the commit, as scripts/fuzz-smoke.sh: each commit
    # explores other inputs, reproducibly.
    seed=$((16#${rev:0:7}))
fi
crashed=()
for t in "${fuzzers[@]}"; do
    secs=${target_seconds[$t]:-$seconds}
    seeds=$WORK/seeds/$t
    # Each run starts from the seeds alone, as on a fresh builder, so that
    # SECONDS is the time it takes (a corpus kept from earlier runs takes
    # longer to load than that); its crashes are kept until the next run.
    rm -rf "$seeds" "$WORK/corpus/$t" "$WORK/artifacts/$t"
    mkdir -p "$seeds" "$WORK/corpus/$t" "$WORK/artifacts/$t"
    if [ -f "$OUT/${t}_seed_corpus.zip" ]; then
        "$WORK/seedzip" extract "$OUT/${t}_seed_corpus.zip" "$seeds"
    fi
    # Through a file, not a pipe: an unreadable options file stops the run.
    options_flags "$OUT/$t.options" > "$WORK/$t.flags"
    mapfile -t opts < "$WORK/$t.flags"
    log=$WORK/$t.log
    echo "oss-fuzz-local: $t for ${secs}s on $(ls "$seeds" | wc -l) seeds, -seed=$seed ${opts[*]}" >&2
    # -timeout: an input that runs this long is a hang. The .options flags
    # come after the defaults, so that they win. A crash is collected, not
    # a failed step (`||` keeps the ERR trap out of it): the other targets
    # still run.
    status=0
    "$OUT/$t" -max_total_time="$secs" -seed="$seed" -timeout=30 -print_final_stats=1 \
        -artifact_prefix="$WORK/artifacts/$t/" "${opts[@]}" "$WORK/corpus/$t" "$seeds" \
        > "$log" 2>&1 || status=$?
    grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" >&2 || true
    if [ "$status" -eq 0 ]; then
        continue
    fi
    crashed+=("$t")
    echo
    echo "oss-fuzz-local: $t stopped with status $status"
    # The divergence report, from the panic message to the backtrace.
    awk '/^mmdiff divergence/ { p = 1 } p && /^(stack backtrace:|note: run with|==[0-9]+==)/ { p = 0 } p' "$log"
    grep -E 'Test unit written to|ERROR: libFuzzer|SUMMARY:' "$log" || true
    if ! grep -q '^mmdiff divergence' "$log"; then
        # Not a divergence (a parser panic, a timeout, an out-of-memory, a
        # sanitizer report): the end of the log says what.
        tail -40 "$log"
    fi
    for a in "$WORK/artifacts/$t"/*; do
        [ -e "$a" ] || continue
        if reads_text "$t"; then
            echo "Reproduce with: $OUT/$t $a"
        elif [ -n "${FEATURES:-}" ]; then
            echo "Reproduce with: MMDIFF_PLANTED=${MMDIFF_PLANTED:-} cargo run --release --features $FEATURES -- explain $a"
        else
            echo "Reproduce with: cargo run --release -- explain $a"
        fi
    done
done
timing "$t0"

step=replay
t0=$SECONDS
# A scenario came from a fuzzer's finding when its header (the `#!` lines at
# the top) says by what (`found-by:`: mmdiff fuzz, hand-reduced finds) or
# from which artifact (`minimized-from:`: mmdiff minimize and triage, e.g.
# a clusterfuzz-testcase-...).
from_finding() {
    awk '/^#!/ { if ($0 ~ /^#![[:space:]]*(found-by|minimized-from):/) found = 1; next } { exit } END { exit !found }' "$1"
}
replay=()
replay_crashed=()
while IFS= read -r -d '' f; do
    if from_finding "$f"; then
        replay+=("$f")
    fi
done < <(find "$root/corpus" -mindepth 1 -name '.*' -prune -o -type f -name '*.mms' -print0 | sort -z)
what="scenarios from fuzzer findings"
if [ ${#replay[@]} -eq 0 ]; then
    what="scenarios of corpus/regressions (none records a fuzzer finding)"
    while IFS= read -r -d '' f; do
        replay+=("$f")
    done < <(find "$root/corpus/regressions" -type f -name '*.mms' -print0 2> /dev/null | sort -z)
fi
if [ ${#replay[@]} -eq 0 ]; then
    echo "oss-fuzz-local: nothing to replay: no scenario in corpus/regressions"
else
    bytes_dir=$WORK/replay
    rm -rf "$bytes_dir"
    mkdir -p "$bytes_dir"
    byte_files=()
    for f in "${replay[@]}"; do
        rel=${f#"$root/corpus/"}
        out=$bytes_dir/${rel//\//__}
        out=${out%.mms}.bin
        env -u MMDIFF_PLANTED "$MMDIFF" convert "$f" -o "$out" > /dev/null
        byte_files+=("$out")
    done
    for t in "${fuzzers[@]}"; do
        if reads_text "$t"; then inputs=("${replay[@]}"); else inputs=("${byte_files[@]}"); fi
        log=$WORK/$t.replay.log
        # Files as arguments: libFuzzer runs each once and stops at a crash.
        if ! "$OUT/$t" "${inputs[@]}" > "$log" 2>&1; then
            echo "oss-fuzz-local: $t crashed on a corpus scenario (log: $log)"
            awk '/^mmdiff divergence/ { p = 1 } p && /^(stack backtrace:|note: run with|==[0-9]+==)/ { p = 0 } p' "$log"
            grep -E '^Running: ' "$log" | tail -1 || true
            replay_crashed+=("$t")
        fi
    done
    if [ ${#replay_crashed[@]} -eq 0 ]; then
        echo "oss-fuzz-local: replayed ${#replay[@]} $what through ${fuzzers[*]}: no crash"
    fi
fi
timing "$t0"

# Crashes fail the run once everything ran, each step named.
if [ ${#crashed[@]} -gt 0 ] || [ ${#replay_crashed[@]} -gt 0 ]; then
    if [ ${#crashed[@]} -gt 0 ]; then
        echo "oss-fuzz-local: FAILED in step \`fuzz\`: ${crashed[*]} crashed (details above)" >&2
    fi
    if [ ${#replay_crashed[@]} -gt 0 ]; then
        echo "oss-fuzz-local: FAILED in step \`replay\`: ${replay_crashed[*]} crashed on corpus scenarios (details above)" >&2
    fi
    exit 1
fi
echo "oss-fuzz-local: ${#fuzzers[@]} fuzzers built (sanitizer $sanitizer) and run, corpus replayed: no crash in $((SECONDS - started)) s"
