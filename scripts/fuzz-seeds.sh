#!/usr/bin/env bash
# Regenerates the fuzzers' seed corpora from the scenarios in corpus/:
#   fuzz/seeds/differential/     every corpus/**/*.mms encoded as fuzz bytes
#                                (`mmdiff convert corpus -o ...`), for the
#                                differential targets and AFL;
#   fuzz/seeds/scenario_parser/  the same scenarios as text.
# The seeds are generated, not committed (fuzz/.gitignore): they follow
# the byte format and the corpus. libFuzzer writes what it finds into
# fuzz/corpus/<target>/ and reads the seeds as a second directory:
#   cargo fuzz run differential fuzz/corpus/differential fuzz/seeds/differential
#
# usage: scripts/fuzz-seeds.sh [SCENARIO_DIR...]   (default: corpus)
set -euo pipefail
cd "$(dirname "$0")/.."

sources=("$@")
if [ ${#sources[@]} -eq 0 ]; then
    sources=(corpus)
fi

bin_dir=fuzz/seeds/differential
text_dir=fuzz/seeds/scenario_parser
# Start clean, so that renamed or deleted scenarios leave no stale seeds.
rm -rf "$bin_dir" "$text_dir"
mkdir -p "$bin_dir" "$text_dir"

cargo build --release --quiet --bin mmdiff
mmdiff=target/release/mmdiff
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
    mmdiff="$CARGO_TARGET_DIR/release/mmdiff"
fi

for src in "${sources[@]}"; do
    # A flat output dir for each source tree: convert names each seed after
    # its path under the source (`conformance/hmm/x.mms` ->
    # `conformance__hmm__x.bin`), prefixed here by the source's own name.
    tag=$(basename "$src")
    tmp=$(mktemp -d)
    # Converting runs no model: a planted fault named for the fuzzers
    # (MMDIFF_PLANTED) is not this build's business.
    env -u MMDIFF_PLANTED "$mmdiff" convert "$src" -o "$tmp" > /dev/null
    for f in "$tmp"/*.bin; do
        [ -e "$f" ] || continue
        mv "$f" "$bin_dir/${tag}__$(basename "$f")"
    done
    rmdir "$tmp"
    while IFS= read -r -d '' f; do
        rel=${f#"$src"/}
        cp "$f" "$text_dir/${tag}__${rel//\//__}"
    done < <(find "$src" -name '*.mms' -not -path '*/.*' -print0)
done

echo "seeds: $(ls "$bin_dir" | wc -l) in $bin_dir, $(ls "$text_dir" | wc -l) in $text_dir"
