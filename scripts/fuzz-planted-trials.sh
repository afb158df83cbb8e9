#!/usr/bin/env bash
# Time to detection of planted faults by `mmdiff fuzz`, one engine, one
# core: for each fault of corpus/zoo and each seed, a campaign with that
# fault switched on (`--features planted`, MMDIFF_PLANTED) runs until its
# first divergence or the budget. Without the fault the models agree, so
# any divergence detects it; the signature is also compared with the
# zoo's (a fault can show first through another op: `other`). Prints one
# line per trial and a table.
#
#   scripts/fuzz-planted-trials.sh [BUDGET_SECS] [TRIALS] [FAULT...]
#
# The corpus is the repository's, without the zoo's repros (the campaign
# leaves out every scenario with a `#! planted:` header), and nothing is
# promoted.
set -euo pipefail
cd "$(dirname "$0")/.."

budget=${1:-60}
trials=${2:-5}
shift $(( $# >= 2 ? 2 : $# ))
faults=("$@")
if [ ${#faults[@]} -eq 0 ]; then
    for f in corpus/zoo/*.mms; do faults+=("$(basename "$f" .mms)"); done
fi

target=${CARGO_TARGET_DIR:-target}/planted
echo "building mmdiff with planted faults into $target ..." >&2
CARGO_TARGET_DIR=$target cargo build --release -q -p mmdiff-triage --features planted
bin=$target/release/mmdiff
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '%-36s %4s %5s %5s %9s  %s\n' fault seed found zoo seconds signature
summary=()
for fault in "${faults[@]}"; do
    want=$(sed -n 's/^#! signature: //p' "corpus/zoo/$fault.mms")
    hits=0
    times=()
    for seed in $(seq 1 "$trials"); do
        json=$(MMDIFF_PLANTED=$fault taskset -c 0 "$bin" fuzz --seed "$seed" --time "$budget" \
            --stop-on-divergence --no-promote --json --quiet \
            --out "$work/$fault-$seed" 2>/dev/null || true)
        sig=$(printf '%s' "$json" | grep -o '"signature":"[^"]*"' | head -1 | cut -d'"' -f4 || true)
        secs=$(printf '%s' "$json" | grep -o '"seconds":[0-9.e+-]*' | head -1 | cut -d: -f2 || true)
        if [ -n "$sig" ]; then
            found=yes
            hits=$((hits + 1))
            times+=("$secs")
            if [ "$sig" = "$want" ]; then zoo=same; else zoo=other; fi
        else
            found=no
            zoo=-
            secs=">$budget"
        fi
        printf '%-36s %4s %5s %5s %9.3f  %s\n' "$fault" "$seed" "$found" "$zoo" "${secs/>*/$budget}" "${sig:--}"
    done
    med=$(printf '%s\n' "${times[@]:-}" | grep . | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}' || true)
    summary+=("$(printf '%-36s %d/%d  median %s s' "$fault" "$hits" "$trials" "$med")")
done
echo
echo "detected within ${budget}s (median time over detecting trials):"
printf '  %s\n' "${summary[@]}"
