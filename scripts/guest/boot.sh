#!/usr/bin/env bash
# Boots the mmdiff guest (scripts/guest/build.sh) under qemu, headless:
# the console (ttyS0) on this process's stdin/stdout, qemu exits when the
# guest powers off, reboots or panics.
#
# usage: scripts/guest/boot.sh <bzImage> <initramfs> [extra kernel args...]
#
# env:
#   MMDIFF_GUEST_CHANNEL         a unix socket path: qemu listens there and
#                                connects it to the guest's second serial
#                                port, ttyS1 (a raw data channel to the
#                                guest's init). Unset: ttyS1 is connected
#                                to nothing.
#   MMDIFF_GUEST_CHANNEL_DEVICE  serial (default): the channel is ttyS1;
#                                virtio: it is a virtio serial port instead
#                                (/dev/vport0p1, faster), and ttyS1 is
#                                connected to nothing.
#   MMDIFF_GUEST_ACCEL           auto (default) or kvm: KVM (-cpu host) if
#                                it starts this kernel, else tcg (-cpu max);
#                                tcg: tcg.
#   MMDIFF_GUEST_KVM_PROBE       seconds the KVM probe waits (default 10).
#   MMDIFF_GUEST_MEMORY          guest RAM, as qemu's -m: <n>M or <n>G
#                                (default 2G; at least 1792M with the
#                                coherent devices, see below).
#   MMDIFF_GUEST_CPUS            guest CPUs (default 2).
#   MMDIFF_GUEST_COHERENT        1 (default): reserve memory for and enable
#                                the device-coherent HMM mirrors
#                                (/dev/hmm_dmirror2, 3); 0: only the
#                                device-private ones (/dev/hmm_dmirror0, 1).
#
# Prints `boot.sh: accel: <kvm|tcg>` and the qemu command on stderr.
#
# The default kernel command line is
#   console=ttyS0 panic=-1 memmap=512M$0x40000000
#   test_hmm.spm_addr_dev0=0x40000000 test_hmm.spm_addr_dev1=0x50000000
# memmap= takes guest-physical [1 GiB, 1.5 GiB) out of the kernel's RAM
# (e820 "reserved"); the HMM test driver then hot-plugs it as two 256 MiB
# chunks of MEMORY_DEVICE_COHERENT memory, one per coherent mirror. The
# reservation must lie inside the guest's RAM (hence 2G), be aligned to a
# memory section (128 MiB), and not be System RAM. panic=-1 turns a panic
# into a reboot, which -no-reboot turns into qemu's exit.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 <bzImage> <initramfs> [extra kernel args...]" >&2
    exit 2
fi
kernel=$1
initramfs=$2
shift 2
for f in "$kernel" "$initramfs"; do
    [ -f "$f" ] || {
        echo "boot.sh: no such file: $f" >&2
        exit 2
    }
done

qemu="qemu-system-x86_64"
command -v "$qemu" > /dev/null || {
    echo "boot.sh: $qemu not found (apt-get install qemu-system-x86)" >&2
    exit 2
}

# --- accelerator ------------------------------------------------------------
# Whether KVM starts this kernel: /dev/kvm can be there and work for a
# BIOS yet not run a Linux guest (as under some nested hypervisors), so
# the probe boots the kernel itself (no initramfs) and waits up to
# MMDIFF_GUEST_KVM_PROBE seconds (default 10) for its banner. The verdict
# is kept per (host kernel, qemu, bzImage) in the guest cache.
kvm_boots() {
    [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
    local cache=${MMDIFF_GUEST_CACHE:-$HOME/.cache/mmdiff/guest}/kvm-probe
    local key verdict log pid i
    key=$({
        uname -r
        "$qemu" --version | head -1
        sha256sum < "$kernel"
    } | sha256sum | cut -c1-16)
    if verdict=$(cat "$cache/$key" 2> /dev/null); then
        [ "$verdict" = yes ]
        return
    fi
    log=$(mktemp "${TMPDIR:-/tmp}/mmdiff-kvm-probe.XXXXXX")
    "$qemu" -machine pc -accel kvm -cpu host -m 256M -smp 1 -nodefaults \
        -display none -no-reboot -serial "file:$log" -kernel "$kernel" \
        -append "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1" \
        < /dev/null > /dev/null 2>&1 &
    pid=$!
    verdict=no
    for ((i = 0; i < ${MMDIFF_GUEST_KVM_PROBE:-10} * 10; i++)); do
        if grep -q 'Linux version' "$log"; then
            verdict=yes
            break
        fi
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.1
    done
    kill "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
    rm -f "$log"
    if mkdir -p "$cache" 2> /dev/null; then
        echo "$verdict" > "$cache/$key" || true
    fi
    [ "$verdict" = yes ]
}
accel=${MMDIFF_GUEST_ACCEL:-auto}
case $accel in
    auto | kvm)
        if kvm_boots; then
            accel=kvm
        else
            if [ -w /dev/kvm ] || [ "$accel" = kvm ]; then
                echo "boot.sh: KVM does not start this kernel here, falling back to tcg" >&2
            fi
            accel=tcg
        fi
        ;;
    tcg) ;;
    *)
        echo "boot.sh: MMDIFF_GUEST_ACCEL must be auto, kvm or tcg" >&2
        exit 2
        ;;
esac
if [ "$accel" = kvm ]; then
    accel_args=(-accel kvm -cpu host)
else
    accel_args=(-accel tcg -cpu max)
fi
echo "boot.sh: accel: $accel" >&2

# --- kernel command line ----------------------------------------------------
memory=${MMDIFF_GUEST_MEMORY:-2G}
cmdline=(console=ttyS0 panic=-1)
if [ "${MMDIFF_GUEST_COHERENT:-1}" = 1 ]; then
    # The reservation must be guest RAM: qemu's RAM must reach past 1.5 GiB.
    case $memory in
        *[Gg]) mib=$((${memory%[Gg]} * 1024)) ;;
        *[Mm]) mib=${memory%[Mm]} ;;
        *) mib=$memory ;;
    esac
    if ! [ "$mib" -ge 1792 ] 2> /dev/null; then
        echo "boot.sh: MMDIFF_GUEST_MEMORY=$memory: the coherent HMM devices need at least 2G (or MMDIFF_GUEST_COHERENT=0)" >&2
        exit 2
    fi
    # shellcheck disable=SC2016 # memmap=<size>$<start>: a literal '$'
    cmdline+=('memmap=512M$0x40000000'
        test_hmm.spm_addr_dev0=0x40000000 test_hmm.spm_addr_dev1=0x50000000)
fi
cmdline+=("$@")

# --- devices ----------------------------------------------------------------
# The console: with a terminal, qemu's monitor is on it too (Ctrl-A c;
# Ctrl-A x quits).
if [ -t 0 ]; then console=mon:stdio; else console=stdio; fi
devices=(-serial "$console")
channel=${MMDIFF_GUEST_CHANNEL:-}
case ${MMDIFF_GUEST_CHANNEL_DEVICE:-serial} in
    serial)
        if [ -n "$channel" ]; then
            rm -f "$channel"
            devices+=(-chardev "socket,id=channel,path=$channel,server=on,wait=off"
                -serial chardev:channel)
        else
            devices+=(-serial null)
        fi
        ;;
    virtio)
        devices+=(-serial null)
        if [ -n "$channel" ]; then
            rm -f "$channel"
            # shellcheck disable=SC2054 # qemu's own comma-separated options
            devices+=(-device virtio-serial-pci,id=vser
                -chardev "socket,id=channel,path=$channel,server=on,wait=off"
                -device virtserialport,bus=vser.0,chardev=channel,name=mmdiff.channel)
        fi
        ;;
    *)
        echo "boot.sh: MMDIFF_GUEST_CHANNEL_DEVICE must be serial or virtio" >&2
        exit 2
        ;;
esac

args=(-machine pc "${accel_args[@]}"
    -m "$memory" -smp "${MMDIFF_GUEST_CPUS:-2}"
    -nodefaults -display none -no-reboot
    "${devices[@]}"
    -kernel "$kernel" -initrd "$initramfs" -append "${cmdline[*]}")
echo "boot.sh: $qemu ${args[*]}" >&2
exec "$qemu" "${args[@]}"
