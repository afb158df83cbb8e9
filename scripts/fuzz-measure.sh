#!/usr/bin/env bash
# Time to find each planted fault, per libFuzzer binary: the numbers in
# docs/fuzzing.md. Each binary must be built with `--features planted`, e.g.
#   (cd fuzz && cargo fuzz build -s none --features planted)
#   scripts/fuzz-measure.sh -t 60 -s "1 2 3" \
#       fuzz/target/x86_64-unknown-linux-gnu/release/differential \
#       fuzz/target/x86_64-unknown-linux-gnu/release/differential_bytes
#
# options:
#   -t SECONDS   budget per trial (default 60); a miss counts as > SECONDS
#   -s SEEDS     libFuzzer -seed values, one trial each (default "1 2 3")
#   -f FAULTS    planted faults (default: the seven of subject/src/planted.rs)
#   -m MODE      empty: start from an empty corpus (default);
#                seeded: start from fuzz/seeds/differential minus the seeds
#                that already trigger the fault (run scripts/fuzz-seeds.sh)
#   -x ARGS      extra libFuzzer arguments (e.g. "-dict=fuzz/differential.dict")
#
# Prints one line per trial (bin fault seed found seconds execs) and a
# summary per binary and fault: found/trials, median seconds and execs
# (misses count as the budget, so a median above it is "not found").
# Trials run one at a time: on a shared machine wall time is noisy, the
# exec count much less so.
set -euo pipefail
cd "$(dirname "$0")/.."

budget=60
seeds="1 2 3"
faults="canary seed003-pin-without-bias seed001-fork-keeps-device-write fork-shares-pinned-page migrate-ignores-extra-refs thp-split-drops-pincount seed001-mprotect-keeps-device-write"
mode=empty
extra=""
while getopts "t:s:f:m:x:" opt; do
    case $opt in
        t) budget=$OPTARG ;;
        s) seeds=$OPTARG ;;
        f) faults=$OPTARG ;;
        m) mode=$OPTARG ;;
        x) extra=$OPTARG ;;
        *) sed -n '2,22p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -eq 0 ]; then
    sed -n '2,22p' "$0"
    exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.tsv
: > "$results"

# The seeds that do not already trigger `fault` (run each on the first binary).
seed_dir() {
    local fault=$1 dir=$work/seeds-$1
    if [ ! -d "$dir" ]; then
        mkdir -p "$dir"
        for s in fuzz/seeds/differential/*; do
            if MMDIFF_PLANTED=$fault "$first" "$s" > /dev/null 2>&1; then
                cp "$s" "$dir/"
            fi
        done
    fi
    echo "$dir"
}

first=$1
printf 'bin\tfault\tseed\tfound\tseconds\texecs\n'
for fault in $faults; do
    for seed in $seeds; do
        for bin in "$@"; do
            corpus=$work/corpus
            rm -rf "$corpus" "$work/art"
            mkdir -p "$corpus" "$work/art"
            dirs=("$corpus")
            if [ "$mode" = seeded ]; then
                dirs+=("$(seed_dir "$fault")")
            fi
            start=$(date +%s.%N)
            set +e
            # shellcheck disable=SC2086
            MMDIFF_PLANTED=$fault nice "$bin" -seed="$seed" -max_total_time="$budget" \
                -print_final_stats=1 -artifact_prefix="$work/art/" $extra "${dirs[@]}" \
                > "$work/log" 2>&1
            rc=$?
            set -e
            end=$(date +%s.%N)
            execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
            secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
            found=0
            if grep -q "^mmdiff divergence" "$work/log"; then
                found=1
            elif [ $rc -ne 0 ]; then
                echo "$bin $fault seed $seed: exit $rc without a divergence" >&2
                tail -5 "$work/log" >&2
            fi
            if [ $found -eq 0 ]; then
                secs=$budget
            fi
            line=$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$(basename "$bin")" "$fault" "$seed" "$found" "$secs" "${execs:-0}")
            echo "$line"
            echo "$line" >> "$results"
        done
    done
done

echo
echo "summary ($mode corpus, ${budget}s budget; medians over trials, misses count as the budget)"
printf '%-22s %-38s %6s %9s %11s %s\n' bin fault found "median s" "median execs" "seconds (each trial)"
sort -t$'\t' -k1,1 -k2,2 "$results" | awk -F'\t' '
    function median(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    {
        key = $1 "\t" $2
        if (!(key in n)) order[++k] = key
        n[key]++; found[key] += $4; secs[key] = secs[key] " " $5; execs[key] = execs[key] " " $6
    }
    END {
        for (i = 1; i <= k; i++) {
            key = order[i]; split(key, p, "\t")
            printf "%-22s %-38s %3d/%-2d %9.1f %11d %s\n", p[1], p[2], found[key], n[key], median(secs[key]), median(execs[key]), secs[key]
        }
    }'
