//! Building (or reusing) the guest image and booting it under qemu.
//!
//! Both are the scripts' business (`scripts/guest/build.sh`,
//! `scripts/guest/boot.sh`), so a guest booted by hand and one booted by
//! `mmdiff ... --engine qemu` are the same machine. The host talks to the
//! guest's init over a unix socket that qemu connects to the guest's
//! channel device (`MMDIFF_GUEST_CHANNEL`); the guest console is kept in
//! a log file and shown when the guest fails.

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mmdiff_core::Config;

use super::client::GuestKernel;
use crate::env::Environment;
use crate::exec::ExecError;
use crate::machine::{Kernel, Machine};

/// A bootable guest: kernel and initramfs (whose init is `mmdiff-guest`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub kernel: PathBuf,
    pub initramfs: PathBuf,
}

/// How long the guest may take from qemu's start to its greeting
/// (software emulation included).
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(180);

/// How long one request may take in the guest before the channel is
/// given up: several times the executor's own per-op deadline
/// (20 s by default), which a guest that still runs meets.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);

/// `scripts/guest` of this source tree, or `MMDIFF_GUEST_SCRIPTS`.
pub fn scripts_dir() -> PathBuf {
    match std::env::var_os("MMDIFF_GUEST_SCRIPTS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/guest"),
    }
}

fn guest_error(e: impl std::fmt::Display) -> ExecError {
    ExecError::Guest(e.to_string())
}

/// The image named by `MMDIFF_GUEST_KERNEL` and `MMDIFF_GUEST_INITRAMFS`,
/// else the one `build.sh` builds or finds in its cache (its progress
/// goes to this process's stderr; its last lines name the files).
pub fn image() -> Result<Image, ExecError> {
    if let (Some(kernel), Some(initramfs)) = (
        std::env::var_os("MMDIFF_GUEST_KERNEL"),
        std::env::var_os("MMDIFF_GUEST_INITRAMFS"),
    ) {
        return Ok(Image {
            kernel: kernel.into(),
            initramfs: initramfs.into(),
        });
    }
    let script = scripts_dir().join("build.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| guest_error(format!("{}: {e}", script.display())))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The build's own progress lines are passed on.
    eprint!("{stdout}");
    if !out.status.success() {
        return Err(guest_error(format!(
            "{} failed ({})",
            script.display(),
            out.status
        )));
    }
    parse_image(&stdout).ok_or_else(|| {
        guest_error(format!(
            "{} printed no bzImage=/initramfs= lines",
            script.display()
        ))
    })
}

/// The `bzImage=` and `initramfs=` lines of `build.sh`'s output.
pub fn parse_image(stdout: &str) -> Option<Image> {
    let find = |key: &str| {
        stdout
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| PathBuf::from(v.trim()))
    };
    Some(Image {
        kernel: find("bzImage=")?,
        initramfs: find("initramfs=")?,
    })
}

/// A booted guest and the channel to its executor. Dropping it powers the
/// guest off (and kills qemu if it does not stop).
pub struct Guest {
    qemu: Child,
    kernel: GuestKernel,
    dir: PathBuf,
    /// How long qemu took to start and the guest to greet.
    pub boot_time: Duration,
}

static GUEST_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Guest {
    /// Boots `image` with `boot.sh` and waits for the greeting.
    pub fn boot(image: &Image) -> Result<Guest, ExecError> {
        let serial = GUEST_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("mmdiff-guest-{}-{serial}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| guest_error(format!("{}: {e}", dir.display())))?;
        let socket = dir.join("channel.sock");
        let console = std::fs::File::create(dir.join("console.log"))
            .map_err(|e| guest_error(format!("console log: {e}")))?;
        let start = Instant::now();
        let script = scripts_dir().join("boot.sh");
        let device = std::env::var("MMDIFF_GUEST_CHANNEL_DEVICE").unwrap_or("virtio".into());
        let channel = if device == "virtio" {
            "/dev/vport0p1"
        } else {
            "/dev/ttyS1"
        };
        let qemu = Command::new("bash")
            .arg(&script)
            .arg(&image.kernel)
            .arg(&image.initramfs)
            .arg(format!("mmdiff.channel={channel}"))
            .env("MMDIFF_GUEST_CHANNEL", &socket)
            // A virtio serial port by default: an 8250 line costs an
            // exit per byte, and an observation is tens of kilobytes.
            .env("MMDIFF_GUEST_CHANNEL_DEVICE", &device)
            .stdin(Stdio::null())
            .stdout(console.try_clone().map_err(guest_error)?)
            .stderr(console)
            .spawn()
            .map_err(|e| guest_error(format!("{}: {e}", script.display())))?;
        let mut guest = GuestStarting {
            qemu: Some(qemu),
            dir,
        };
        let stream = guest.connect(&socket, start)?;
        stream
            .set_read_timeout(Some(BOOT_TIMEOUT))
            .map_err(guest_error)?;
        let input = stream.try_clone().map_err(guest_error)?;
        let kernel = GuestKernel::connect(
            Box::new(input),
            Box::new(stream.try_clone().map_err(guest_error)?),
        )
        .map_err(|e| guest.failed(e))?;
        stream
            .set_read_timeout(Some(REQUEST_TIMEOUT))
            .map_err(guest_error)?;
        let (qemu, dir) = guest.started()?;
        Ok(Guest {
            qemu,
            kernel,
            dir,
            boot_time: start.elapsed(),
        })
    }

    /// The guest kernel, for [`crate::compare_on`].
    pub fn kernel(&mut self) -> &mut GuestKernel {
        &mut self.kernel
    }

    /// The guest console so far.
    pub fn console(&self) -> String {
        console_tail(&self.dir)
    }
}

impl Kernel for Guest {
    fn env(&self) -> &Environment {
        self.kernel.env()
    }

    fn start(
        &mut self,
        config: &Config,
        deadline: Duration,
    ) -> Result<Box<dyn Machine + '_>, ExecError> {
        self.kernel.start(config, deadline)
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        self.kernel.power_off();
        stop(&mut self.qemu, Duration::from_secs(10));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A guest between qemu's start and its greeting: qemu is killed if it
/// is dropped before [`GuestStarting::started`].
struct GuestStarting {
    qemu: Option<Child>,
    dir: PathBuf,
}

impl Drop for GuestStarting {
    fn drop(&mut self) {
        if let Some(qemu) = &mut self.qemu {
            stop(qemu, Duration::ZERO);
        }
    }
}

impl GuestStarting {
    /// Connects to qemu's channel socket once it exists.
    fn connect(&mut self, socket: &Path, start: Instant) -> Result<UnixStream, ExecError> {
        loop {
            if let Ok(stream) = UnixStream::connect(socket) {
                return Ok(stream);
            }
            let exited = self.qemu.as_mut().map(|q| q.try_wait());
            if let Some(Ok(Some(status))) = exited {
                return Err(
                    self.failed(format!("qemu exited ({status}) before the channel opened"))
                );
            }
            if start.elapsed() > BOOT_TIMEOUT {
                return Err(self.failed("the channel socket never appeared"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `why` with the end of the console, for the error.
    fn failed(&mut self, why: impl std::fmt::Display) -> ExecError {
        if let Some(qemu) = &mut self.qemu {
            stop(qemu, Duration::from_secs(1));
        }
        guest_error(format!(
            "{why}\n--- guest console (end) ---\n{}",
            console_tail(&self.dir)
        ))
    }

    /// qemu and the run directory, now owned by the booted guest.
    fn started(mut self) -> Result<(Child, PathBuf), ExecError> {
        let qemu = self
            .qemu
            .take()
            .ok_or_else(|| guest_error("qemu is gone"))?;
        Ok((qemu, self.dir.clone()))
    }
}

/// The last lines of the console log in `dir`.
fn console_tail(dir: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(dir.join("console.log")) {
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Waits up to `grace` for `child` to exit, then kills it.
fn stop(child: &mut Child, grace: Duration) {
    let start = Instant::now();
    while start.elapsed() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_output_names_the_image() {
        let out =
            "== step: kernel (cached)\nbzImage=/c/k/bzImage\ninitramfs=/c/i/initramfs.cpio.gz\n";
        assert_eq!(
            parse_image(out),
            Some(Image {
                kernel: "/c/k/bzImage".into(),
                initramfs: "/c/i/initramfs.cpio.gz".into()
            })
        );
        assert_eq!(parse_image("== step: kernel\n"), None);
    }
}
