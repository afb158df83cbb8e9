//! What `mmdiff-guest` does as the guest's init before it serves: the
//! file systems the executor and the observer read, the channel to the
//! host, and powering off at the end.

use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::path::Path;

use nix::mount::{mount, MsFlags};
use nix::sys::termios;

/// The devices tried for the channel, in order, when the kernel command
/// line names none (`mmdiff.channel=<path>`): a virtio serial port, then
/// the second 8250 port.
pub const CHANNELS: [&str; 2] = ["/dev/vport0p1", "/dev/ttyS1"];

/// Mounts proc, sysfs, devtmpfs, debugfs (for `gup_test` and
/// `fault_around_bytes`) and a tmpfs on `/dev/shm` and `/tmp` (tmpfs
/// files). A mount that is already there is left alone.
pub fn mount_filesystems() -> Vec<String> {
    let mounts: [(&str, &str, &str); 6] = [
        ("proc", "/proc", "proc"),
        ("sysfs", "/sys", "sysfs"),
        ("devtmpfs", "/dev", "devtmpfs"),
        ("debugfs", "/sys/kernel/debug", "debugfs"),
        ("tmpfs", "/dev/shm", "tmpfs"),
        ("tmpfs", "/tmp", "tmpfs"),
    ];
    let mut problems = Vec::new();
    for (source, target, fstype) in mounts {
        if let Err(e) = std::fs::create_dir_all(target) {
            problems.push(format!("mkdir {target}: {e}"));
            continue;
        }
        match mount(
            Some(source),
            target,
            Some(fstype),
            MsFlags::empty(),
            None::<&str>,
        ) {
            Ok(()) | Err(nix::errno::Errno::EBUSY) => {}
            Err(e) => problems.push(format!("mount {fstype} on {target}: {e}")),
        }
    }
    problems
}

/// The channel device: `mmdiff.channel=` from `cmdline`, else the first
/// of [`CHANNELS`] that exists.
pub fn channel_path(cmdline: &str) -> Option<String> {
    if let Some(path) = cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix("mmdiff.channel="))
    {
        return Some(path.to_string());
    }
    CHANNELS
        .iter()
        .find(|p| Path::new(p).exists())
        .map(|p| p.to_string())
}

/// How long the channel device may take to appear (a virtio port is
/// created when the device has been probed, possibly after init starts).
const CHANNEL_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Opens the channel for reading and writing, once it exists; a serial
/// line is put in raw mode (no echo, no line editing, no CR/LF
/// translation), so records pass byte for byte.
pub fn open_channel(path: &str) -> std::io::Result<File> {
    let start = std::time::Instant::now();
    while !Path::new(path).exists() && start.elapsed() < CHANNEL_WAIT {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    if let Ok(mut t) = termios::tcgetattr(file.as_fd()) {
        termios::cfmakeraw(&mut t);
        termios::tcsetattr(file.as_fd(), termios::SetArg::TCSANOW, &t)
            .map_err(std::io::Error::from)?;
    }
    Ok(file)
}

/// Powers the guest off (qemu exits with `-no-reboot`).
pub fn power_off() -> ! {
    nix::unistd::sync();
    match nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_POWER_OFF) {
        Ok(never) => match never {},
        Err(e) => {
            eprintln!("mmdiff-guest: power off failed: {e}");
            // Init must not exit: the kernel would panic.
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_names_the_channel() {
        assert_eq!(
            channel_path("console=ttyS0 mmdiff.channel=/dev/hvc1 quiet").as_deref(),
            Some("/dev/hvc1")
        );
    }
}
