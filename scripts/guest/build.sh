#!/usr/bin/env bash
# Builds (or finds in its cache) the mmdiff guest: a tiny x86-64 Linux
# kernel with the HMM test driver (/dev/hmm_dmirror*) and gup_test, and an
# initramfs whose /init is mmdiff's guest executor. See README.md beside
# this file.
#
# usage: scripts/guest/build.sh [--init PATH] [--smoke] [--selftests]
#
#   (no option)    /init is the executor, built with cargo
#                  (mmdiff-kernel's `mmdiff-guest`, static, in target/guest).
#   --init PATH    /init is PATH, any static x86-64 binary (no cargo step).
#   --smoke        /init is smoke-init.c (beside this file); the image is
#                  booted (scripts/guest/boot.sh) with every accelerator
#                  that works here, and the build fails unless the guest
#                  prints SMOKE OK within MMDIFF_GUEST_TIMEOUT seconds.
#   --selftests    like --smoke (with one accelerator), and the kernel's
#                  own mm selftests hmm-tests and gup_test are packed and
#                  run in the guest; their results are printed, and the
#                  build fails unless all of them ran and exited 0.
#
# env:
#   MMDIFF_GUEST_CACHE    the cache (default ~/.cache/mmdiff/guest).
#   MMDIFF_GUEST_INIT     as --init PATH.
#   MMDIFF_GUEST_SOURCE   a kernel source tarball (default: Debian's
#                         linux-source-6.12, /usr/src/linux-source-6.12.tar.xz).
#   MMDIFF_GUEST_TIMEOUT  seconds a --smoke/--selftests boot may take
#                         (default 600).
#   MMDIFF_GUEST_JOBS     make -j (default: nproc).
#
# Output: stdout has one `== step: <name>` line per step (`(cached)` when
# the cache had its result) and ends with the two lines
#     bzImage=<absolute path>
#     initramfs=<absolute path>
# Everything the tools print goes to stderr. On failure it prints
# `guest build failed at step: <name>` and exits non-zero.
#
# Cache (outside the source tree):
#   src/<version>/                      the unpacked kernel source
#   kernel/<version>-<fragment sha>/    bzImage, config, vmlinux, System.map,
#                                       usr/include (uapi headers, for the
#                                       selftests)
#   initramfs/<kernel key>-<init sha>/  initramfs.cpio.gz
#   bin/                                smoke init, selftests, gen_init_cpio
# <version> is the kernel source package's version (or the tarball's
# sha256 for MMDIFF_GUEST_SOURCE), <fragment sha> the first 16 hex digits
# of config.fragment's sha256, <init sha> the same of the /init binary
# (of the list of files and their sha256 when more than /init is packed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

step_name=start
step() {
    step_name=$1
    echo "== step: $*"
}
on_exit() {
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "guest build failed at step: $step_name" >&2
    fi
    exit "$rc"
}
trap on_exit EXIT
die() {
    echo "build.sh: $*" >&2
    exit 1
}
# Seconds since `start` (an $EPOCHREALTIME), to one decimal.
since() {
    awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}
sha() {
    sha256sum "$1" | cut -c1-16
}

mode=executor
init_bin=${MMDIFF_GUEST_INIT:-}
while [ $# -gt 0 ]; do
    case $1 in
        --init)
            [ $# -ge 2 ] || die "--init needs a path"
            init_bin=$2
            shift 2
            ;;
        --init=*)
            init_bin=${1#--init=}
            shift
            ;;
        --smoke)
            mode=smoke
            shift
            ;;
        --selftests)
            mode=selftests
            shift
            ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
if [ "$mode" = executor ] && [ -n "$init_bin" ]; then
    mode=custom
fi

cache=${MMDIFF_GUEST_CACHE:-$HOME/.cache/mmdiff/guest}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
case $cache/ in
    "$repo"/*) die "the cache ($cache) must be outside the source tree" ;;
esac
jobs=${MMDIFF_GUEST_JOBS:-$(nproc)}
source_pkg=linux-source-6.12
tarball=${MMDIFF_GUEST_SOURCE:-/usr/src/$source_pkg.tar.xz}

# One build at a time per cache.
exec 9> "$cache/.lock"
flock 9

# --- packages ---------------------------------------------------------------
step packages
packages=(build-essential flex bison bc libelf-dev libssl-dev cpio xz-utils gzip
    qemu-system-x86)
if [ -z "${MMDIFF_GUEST_SOURCE:-}" ]; then
    packages+=("$source_pkg")
fi
missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2> /dev/null || true)
    [ "$status" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "all installed (cached)"
else
    echo "installing: ${missing[*]}"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo > /dev/null || die "not root and no sudo: install ${missing[*]}"
        sudo=(sudo)
    fi
    t=$EPOCHREALTIME
    apt_install() {
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y \
            --no-install-recommends "${missing[@]}" >&2
    }
    if ! apt_install; then
        "${sudo[@]}" apt-get update >&2
        apt_install
    fi
    echo "installed in $(since "$t") s"
fi

# --- unpack -----------------------------------------------------------------
[ -f "$tarball" ] || die "no kernel source tarball at $tarball"
if [ -z "${MMDIFF_GUEST_SOURCE:-}" ]; then
    version=$(dpkg-query -W -f='${Version}' "$source_pkg")
else
    version=custom-$(sha "$tarball")
fi
# A path make is happy with: 6.12.117-1~deb12u1 -> 6.12.117-1_deb12u1.
version=$(printf '%s' "$version" | tr -c 'A-Za-z0-9._-' '_')
src=$cache/src/$version
if [ -f "$src/.unpacked" ]; then
    step unpack "(cached)"
else
    step unpack
    t=$EPOCHREALTIME
    rm -rf "$src" "$src.tmp"
    mkdir -p "$src.tmp"
    tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
    touch "$src.tmp/.unpacked"
    mv "$src.tmp" "$src"
    echo "unpacked $tarball in $(since "$t") s"
fi
echo "kernel source: $src ($(make -s -C "$src" kernelversion 2> /dev/null))"

# --- configure --------------------------------------------------------------
fragment=$here/config.fragment
kernel_key=$version-$(sha "$fragment")
kdir=$cache/kernel/$kernel_key
build=$kdir/build
# A fixed build stamp: the same source and fragment give the same kernel
# wherever and whenever it is built.
kmake=(make -C "$src" O="$build" ARCH=x86_64 KBUILD_BUILD_TIMESTAMP="1970-01-01 00:00:00 UTC"
    KBUILD_BUILD_USER=mmdiff KBUILD_BUILD_HOST=guest KBUILD_BUILD_VERSION=1)
if [ -f "$kdir/bzImage" ] || [ -f "$build/.configured" ]; then
    # (.configured without bzImage: an interrupted build, resumed below.)
    step configure "(cached)"
else
    step configure
    rm -rf "$kdir"
    mkdir -p "$build"
    "${kmake[@]}" -s tinyconfig >&2
    "$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "$fragment" >&2
    "${kmake[@]}" -s olddefconfig >&2
    # Kconfig drops what it cannot have without a word: check every line.
    lost=()
    while IFS= read -r line; do
        case $line in
            CONFIG_*=*)
                grep -qxF -- "$line" "$build/.config" || lost+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$build/.config" || echo absent))")
                ;;
            "# CONFIG_"*" is not set")
                opt=${line#\# }
                opt=${opt%% *}
                if grep -qE "^$opt=" "$build/.config"; then
                    lost+=("$line (got: $(grep -E "^$opt=" "$build/.config"))")
                fi
                ;;
        esac
    done < "$fragment"
    if [ ${#lost[@]} -gt 0 ]; then
        echo "build.sh: config.fragment options missing from .config (unmet dependencies?):" >&2
        printf '  %s\n' "${lost[@]}" >&2
        exit 1
    fi
    echo "config: all $(grep -cE '^CONFIG_' "$fragment") options of config.fragment are set"
    touch "$build/.configured"
fi

# --- kernel -----------------------------------------------------------------
if [ -f "$kdir/bzImage" ]; then
    step kernel "(cached)"
else
    step kernel
    t=$EPOCHREALTIME
    nice "${kmake[@]}" -s -j"$jobs" bzImage >&2
    "${kmake[@]}" -s headers >&2
    cp "$build/.config" "$kdir/config"
    cp "$build/vmlinux" "$build/System.map" "$kdir/"
    rm -rf "${kdir:?}/usr"
    mkdir -p "$kdir/usr"
    cp -r "$build/usr/include" "$kdir/usr/include"
    cp "$build/arch/x86/boot/bzImage" "$kdir/bzImage.tmp"
    mv "$kdir/bzImage.tmp" "$kdir/bzImage"
    # The objects are not needed again: a new fragment is a new key.
    rm -rf "$build"
    echo "built $kdir/bzImage in $(since "$t") s"
fi

# --- init -------------------------------------------------------------------
bindir=$cache/bin
mkdir -p "$bindir"
extras=() # more files for the initramfs: "<source path>:<path in the image>"
# gcc -static, cached by the sources' sha256.
cc_static() {
    local out=$1
    shift
    if [ ! -x "$out" ]; then
        gcc -static "$@" -o "$out.tmp" >&2
        mv "$out.tmp" "$out"
    fi
}
case $mode in
    executor)
        step executor
        target=x86_64-unknown-linux-gnu
        (cd "$repo" && RUSTFLAGS="-C target-feature=+crt-static" \
            CARGO_TARGET_DIR="$repo/target/guest" \
            nice cargo build --release --locked -p mmdiff-kernel --bin mmdiff-guest \
            --target "$target" >&2)
        init_bin=$repo/target/guest/$target/release/mmdiff-guest
        ;;
    custom)
        step init "($init_bin)"
        ;;
    smoke | selftests)
        step smoke-init
        init_bin=$bindir/smoke-init-$(sha "$here/smoke-init.c")
        cc_static "$init_bin" -O2 -Wall "$here/smoke-init.c"
        ;;
esac
[ -f "$init_bin" ] || die "no init binary at $init_bin"
init_bin=$(cd "$(dirname "$init_bin")" && pwd)/$(basename "$init_bin")
if readelf -lW "$init_bin" 2> /dev/null | grep -q 'program interpreter'; then
    die "$init_bin is dynamically linked: /init must be static"
fi

if [ "$mode" = selftests ]; then
    step selftests
    st=$src/tools/testing/selftests
    st_key=$(cat "$st/mm/hmm-tests.c" "$st/mm/gup_test.c" "$st/mm/vm_util.c" \
        "$st/mm/thp_settings.c" "$kdir/bzImage" | sha256sum | cut -c1-16)
    flags=(-Wall -O2 -U_FORTIFY_SOURCE -I "$src" -isystem "$kdir/usr/include"
        -isystem "$src/tools/include/uapi")
    libs=(-lrt -lpthread -lm)
    for t in hmm-tests gup_test; do
        out=$bindir/$t-$st_key
        (cd "$st/mm" && cc_static "$out" "${flags[@]}" "$t.c" vm_util.c thp_settings.c "${libs[@]}")
        extras+=("$out:selftests/$t")
    done
    run_list=$bindir/selftests-run-$st_key
    # Huge pages for hmm-tests' hugetlbfs cases; gup_test: its
    # get_user_pages_fast (-u) and pin_user_pages_fast (-a) runs over its
    # default 128 MB.
    printf '%s\n' "write /proc/sys/vm/nr_hugepages 16" hmm-tests "gup_test -u" \
        "gup_test -a" > "$run_list"
    extras+=("$run_list:selftests/run")
fi

# --- initramfs --------------------------------------------------------------
if [ ${#extras[@]} -eq 0 ]; then
    init_key=$(sha "$init_bin")
else
    init_key=$({
        sha256sum "$init_bin" | cut -d' ' -f1
        for e in "${extras[@]}"; do
            echo "$(sha256sum "${e%%:*}" | cut -d' ' -f1) ${e#*:}"
        done
    } | sha256sum | cut -c1-16)
fi
idir=$cache/initramfs/$kernel_key-$init_key
initramfs=$idir/initramfs.cpio.gz
if [ -f "$initramfs" ]; then
    step initramfs "(cached)"
else
    step initramfs
    gen=$bindir/gen_init_cpio-$(sha "$src/usr/gen_init_cpio.c")
    [ -x "$gen" ] || { gcc -O2 -o "$gen.tmp" "$src/usr/gen_init_cpio.c" >&2 && mv "$gen.tmp" "$gen"; }
    mkdir -p "$idir"
    list=$idir/list
    {
        echo "dir /dev 0755 0 0"
        echo "nod /dev/console 0600 0 0 c 5 1"
        echo "nod /dev/null 0666 0 0 c 1 3"
        echo "dir /proc 0755 0 0"
        echo "dir /sys 0755 0 0"
        echo "dir /tmp 1777 0 0"
        echo "file /init $init_bin 0755 0 0"
        if [ ${#extras[@]} -gt 0 ]; then
            echo "dir /selftests 0755 0 0"
            for e in "${extras[@]}"; do
                echo "file /${e#*:} ${e%%:*} 0755 0 0"
            done
        fi
    } > "$list"
    # -t 0: fixed mtimes; gzip -n: no name or time, so equal inputs give
    # equal images.
    "$gen" -t 0 "$list" | gzip -9 -n > "$initramfs.tmp"
    mv "$initramfs.tmp" "$initramfs"
    echo "packed $initramfs ($(du -k "$initramfs" | cut -f1) KiB)"
fi

# --- boot (--smoke, --selftests) --------------------------------------------
boot_once() { # accel log -> prints "<seconds to SMOKE OK> <seconds to exit>"
    local accel=$1 log=$2 t ok="" line
    t=$EPOCHREALTIME
    while IFS= read -r line; do
        line=${line%$'\r'} # the serial console ends lines with CR LF
        printf '%s\n' "$line" >> "$log"
        case $line in
            *"SMOKE OK"* | *"SMOKE FAIL"*) [ -n "$ok" ] || ok=$(since "$t") ;;
        esac
    done < <(MMDIFF_GUEST_ACCEL=$accel timeout "${MMDIFF_GUEST_TIMEOUT:-600}" \
        "$here/boot.sh" "$kdir/bzImage" "$initramfs" 2>&1 || true)
    echo "${ok:-none} $(since "$t")"
}
if [ "$mode" = smoke ] || [ "$mode" = selftests ]; then
    step boot
    accels=()
    if [ -n "${MMDIFF_GUEST_ACCEL:-}" ]; then
        accels=("$MMDIFF_GUEST_ACCEL")
    elif [ "$mode" = smoke ]; then
        # Both, to compare them (boot.sh falls back to tcg where KVM fails).
        accels=(kvm tcg)
    else
        accels=(auto)
    fi
    ok_any=no
    for accel in "${accels[@]}"; do
        log=$(mktemp "${TMPDIR:-/tmp}/mmdiff-guest-$accel.XXXXXX")
        read -r to_smoke to_exit < <(boot_once "$accel" "$log")
        sed 's/^/  | /' "$log" >&2
        used=$(grep -m1 -oE '^boot.sh: accel: [a-z]+' "$log" | awk '{print $3}' || true)
        if [ "$accel" = kvm ] && [ "$used" != kvm ]; then
            echo "boot (kvm): KVM does not start the guest here (boot.sh fell back to ${used:-?})"
            rm -f "$log"
            continue
        fi
        if grep -q 'SMOKE OK' "$log"; then
            echo "boot ($used): SMOKE OK after $to_smoke s, powered off after $to_exit s"
            grep -E '^(device: |uname -r: |SMOKE )' "$log" | sed 's/^/  /'
            if [ "$mode" = selftests ]; then
                grep -E '^(# Totals|# (PASSED|FAILED)|SELFTEST |not ok |ok |# SKIP|wrote )|SELFTESTS DONE' "$log" |
                    sed 's/^/  /' || true
                grep -q 'SELFTESTS DONE' "$log" || {
                    echo "boot ($used): the selftests did not finish (log: $log)"
                    exit 1
                }
                if grep -E '^SELFTEST [^ ]+: ' "$log" | grep -vqE ': (start|exit 0)$'; then
                    echo "boot ($used): a selftest failed (log: $log)"
                    exit 1
                fi
            fi
            ok_any=yes
            rm -f "$log"
        else
            why=$(grep -m1 'SMOKE FAIL' "$log" || true)
            echo "boot (${used:-$accel}): no SMOKE OK (${why:-none after $to_exit s}; console above, log: $log)"
            exit 1
        fi
    done
    [ "$ok_any" = yes ] || exit 1
fi

step "done"
echo "bzImage=$kdir/bzImage"
echo "initramfs=$initramfs"
