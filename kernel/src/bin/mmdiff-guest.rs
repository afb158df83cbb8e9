//! The guest's init: mounts, probes the guest kernel, and serves the
//! kernel engine's executor to the host over the channel (see
//! `mmdiff_kernel::guest`). Started by the guest kernel as `/init`; not
//! meant to be run by hand.

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn main() {
    use mmdiff_kernel::guest::{init, serve};

    for problem in init::mount_filesystems() {
        eprintln!("mmdiff-guest: {problem}");
    }
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let Some(path) = init::channel_path(&cmdline) else {
        eprintln!(
            "mmdiff-guest: no channel to the host (tried {:?}; set mmdiff.channel=)",
            init::CHANNELS
        );
        init::power_off();
    };
    let env = mmdiff_kernel::probe();
    eprintln!("mmdiff-guest: serving on {path}\n{env}");
    match init::open_channel(&path).and_then(|file| {
        let mut input = std::io::BufReader::new(file.try_clone()?);
        let mut output = file;
        serve(&mut input, &mut output, &env)
    }) {
        Ok(how) => eprintln!("mmdiff-guest: done ({how:?})"),
        Err(e) => eprintln!("mmdiff-guest: channel {path}: {e}"),
    }
    init::power_off();
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn main() {
    eprintln!("mmdiff-guest runs only as the init of a Linux x86-64 guest");
    std::process::exit(2);
}
