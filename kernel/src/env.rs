//! Facts about the machine the kernel engine runs on, read once at start:
//! what the kernel will do differently from a default model machine, and
//! what can be observed at all.
//!
//! [`Environment::oracle_config`] turns the facts the oracle's
//! [`Config`] can express (swap size, memory size) into that config, so the
//! oracle is asked the same question the kernel answers;
//! [`Environment::differences`] lists the facts it cannot express (THP
//! mode, the huge zero page switch, multi-size THP, fault-around, missing
//! soft-dirty tracking), which explain disagreements that are not model
//! bugs.

use std::fmt;
use std::path::PathBuf;

use mmdiff_core::{Config, KernelVersion};

/// Transparent huge page settings (`/sys/kernel/mm/transparent_hugepage`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ThpFacts {
    /// `enabled`: `always`, `madvise` or `never` (empty: no THP support).
    pub enabled: String,
    /// `defrag`.
    pub defrag: String,
    /// `use_zero_page`: whether read faults may map the huge zero page.
    pub use_zero_page: Option<bool>,
    /// `shmem_enabled`.
    pub shmem_enabled: String,
    /// `hpage_pmd_size` in pages.
    pub pmd_pages: Option<u64>,
    /// `hugepages-<size>kB/enabled` per size in KiB: the multi-size THP
    /// orders (`inherit` follows `enabled`).
    pub sizes: Vec<(u64, String)>,
    /// `khugepaged/scan_sleep_millisecs`: how soon khugepaged may collapse
    /// a `MADV_HUGEPAGE` range behind the ops' back.
    pub khugepaged_sleep_ms: Option<u64>,
}

/// The result of probing for a kernel feature.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Probe {
    #[default]
    NotProbed,
    Available,
    /// Why not.
    Unavailable(String),
}

/// Everything the kernel engine knows about its machine.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Environment {
    /// `/proc/sys/kernel/osrelease`.
    pub kernel_release: String,
    /// The CPU architecture this crate was built for.
    pub arch: String,
    /// Bytes per base page.
    pub page_size: u64,
    /// `MemTotal` in pages.
    pub mem_pages: u64,
    /// `CmaTotal` in pages.
    pub cma_pages: u64,
    /// `SwapTotal` in pages: what reclaim and `MADV_PAGEOUT` can swap to.
    pub swap_pages: u64,
    pub thp: ThpFacts,
    /// `fault_around_bytes` (debugfs), when readable: read faults on file
    /// and shmem mappings map up to this many bytes of cached pages.
    pub fault_around_bytes: Option<u64>,
    /// `/proc/sys/kernel/numa_balancing`.
    pub numa_balancing: Option<u64>,
    /// Whether pagemap reports soft-dirty (bit 55): `CONFIG_MEM_SOFT_DIRTY`.
    pub soft_dirty: bool,
    /// Whether pagemap shows page frame numbers (needs `CAP_SYS_ADMIN`).
    pub pfns_visible: bool,
    /// Whether `/proc/kpageflags` and `/proc/kpagecount` can be read.
    pub kpage_readable: bool,
    /// Whether the `PAGEMAP_SCAN` ioctl works (tells PMD mappings apart).
    pub pagemap_scan: bool,
    /// A tmpfs directory for `tmpfs` files.
    pub tmpfs_dir: Option<PathBuf>,
    /// A directory on a disk filesystem with writeback for `ext4` files,
    /// and that filesystem's name.
    pub disk_dir: Option<(PathBuf, String)>,
    /// Pages one pipe may hold (`/proc/sys/fs/pipe-max-size`; more needs
    /// `CAP_SYS_RESOURCE`): a `gup get fast` handle is spread over pipes of
    /// at most this many pages.
    pub pipe_max_pages: u64,
    /// Whether io_uring fixed buffers (long-term `FOLL_WRITE` pins from
    /// user space) can be registered.
    pub io_uring_fixed_buffers: Probe,
    /// The HMM test driver's devices (`/dev/hmm_dmirror<d>`) present:
    /// `lib/test_hmm.c` built in or loaded (the qemu guest has 0-3).
    pub hmm_devices: Vec<u8>,
    /// The kernel's GUP test interface (`CONFIG_GUP_TEST`,
    /// `/sys/kernel/debug/gup_test`): long-term pins from user space.
    pub gup_test: bool,
    /// Whether `MADV_DONTNEED` of a whole PMD block frees the emptied PTE
    /// table (`CONFIG_PT_RECLAIM`), found by trying it; false when THP is
    /// off or the try failed, which only ends more comparisons early.
    pub pt_reclaim: bool,
    /// Why the kernel engine cannot run here, if it cannot.
    pub unsupported: Option<String>,
}

impl Environment {
    /// The oracle's config for a comparison with this kernel: `base` (the
    /// scenario's sizes) with swap and memory sized like the machine.
    /// Zones: all memory is `normal` (user space cannot ask for movable or
    /// CMA pages, so those ops are not run), swap slots are the swap size.
    /// The models follow this kernel's version where versions differ (a
    /// release that does not parse keeps `base`'s).
    pub fn oracle_config(&self, base: &Config) -> Config {
        let mut c = base.clone();
        c.zone_pages = [self.mem_pages.max(1), 0, self.cma_pages];
        c.swap_slots = self.swap_pages;
        c.kernel = KernelVersion::parse(&self.kernel_release).unwrap_or(base.kernel);
        c
    }

    /// Whether read faults on file and shmem mappings may map cached
    /// neighbours (`do_fault_around`): unless `fault_around_bytes` is known
    /// to be one page, the kernel default (64 KiB) is assumed.
    pub fn fault_around(&self) -> bool {
        self.fault_around_bytes
            .is_none_or(|b| b > self.page_size.max(1))
    }

    /// Facts that make the kernel behave unlike the models and that the
    /// oracle's [`Config`] cannot express. Each is a sentence; empty when
    /// the machine is the models' machine.
    pub fn differences(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.thp.enabled != "madvise" {
            out.push(format!(
                "THP policy is `{}`; the models implement `madvise`",
                self.thp.enabled
            ));
        }
        if self.thp.use_zero_page == Some(false) {
            out.push(
                "use_zero_page=0: THP read faults allocate instead of mapping the huge zero page"
                    .into(),
            );
        }
        let pmd_kb = self.thp.pmd_pages.unwrap_or(512) * self.page_size / 1024;
        for (kb, mode) in &self.thp.sizes {
            if *kb != pmd_kb
                && mode != "never"
                && !(mode == "inherit" && self.thp.enabled == "never")
            {
                out.push(format!(
                    "{kb} KiB THPs are `{mode}`: faults may allocate folios of orders the models do not have"
                ));
            }
        }
        if self.thp.shmem_enabled != "never" && !self.thp.shmem_enabled.is_empty() {
            out.push(format!(
                "shmem THP is `{}`; the models have only small shmem folios",
                self.thp.shmem_enabled
            ));
        }
        if let Some(b) = self.fault_around_bytes {
            if b > self.page_size {
                out.push(format!(
                    "fault_around_bytes={b}: read faults on file/shmem mappings map cached neighbours; the models map one page (those kernel-only mappings are not compared)"
                ));
            }
        } else {
            out.push("fault_around_bytes unknown (debugfs not readable); the kernel default maps 64 KiB of cached neighbours on file read faults, the models one page (those kernel-only mappings are not compared)".into());
        }
        if crate::explained::pmd_exclusive_from_first_page(&self.kernel_release) {
            out.push("pagemap reports the exclusive bit of a PMD mapping's first page for all its pages (Linux 6.15+): the oracle's bits are compared the same way".into());
        }
        if !self.soft_dirty {
            out.push("no soft-dirty tracking (CONFIG_MEM_SOFT_DIRTY off): soft-dirty bits are not compared, and clear-soft-dirty is not run (it write-protects nothing there, the models always do; a device-mirror snapshot shows the difference)".into());
        }
        if let Some(ms) = self.thp.khugepaged_sleep_ms {
            out.push(format!(
                "khugepaged scans every {ms} ms and may collapse MADV_HUGEPAGE ranges between ops (not modelled; runs are short)"
            ));
        }
        if matches!(self.numa_balancing, Some(n) if n != 0) {
            out.push(
                "NUMA balancing is on: it may make PTEs PROT_NONE behind the ops' back".into(),
            );
        }
        if self.disk_dir.is_none() {
            out.push("no disk filesystem found: `ext4` files are not expressible".into());
        }
        out
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "kernel {} ({})", self.kernel_release, self.arch)?;
        writeln!(
            f,
            "  page {} B, memory {} pages, CMA {} pages, swap {} pages",
            self.page_size, self.mem_pages, self.cma_pages, self.swap_pages
        )?;
        let sizes: Vec<String> = self
            .thp
            .sizes
            .iter()
            .map(|(kb, m)| format!("{kb}K={m}"))
            .collect();
        writeln!(
            f,
            "  THP enabled={} defrag={} use_zero_page={} shmem={} pmd={} pages sizes [{}] khugepaged sleep={}",
            self.thp.enabled,
            self.thp.defrag,
            opt(self.thp.use_zero_page),
            self.thp.shmem_enabled,
            opt(self.thp.pmd_pages),
            sizes.join(" "),
            opt(self.thp.khugepaged_sleep_ms).to_string() + " ms",
        )?;
        writeln!(
            f,
            "  fault_around_bytes={} numa_balancing={} soft-dirty={} pfns={} kpageflags={} PAGEMAP_SCAN={}",
            opt(self.fault_around_bytes),
            opt(self.numa_balancing),
            self.soft_dirty,
            self.pfns_visible,
            self.kpage_readable,
            self.pagemap_scan
        )?;
        let dir = |d: &Option<PathBuf>| {
            d.as_ref()
                .map_or("none".into(), |p| p.display().to_string())
        };
        let disk = self
            .disk_dir
            .as_ref()
            .map_or("none".to_string(), |(p, fs)| {
                format!("{} ({fs})", p.display())
            });
        writeln!(
            f,
            "  tmpfs files in {}, ext4 files in {}; pipes of up to {} pages",
            dir(&self.tmpfs_dir),
            disk,
            self.pipe_max_pages
        )?;
        match &self.io_uring_fixed_buffers {
            Probe::NotProbed => {
                writeln!(f, "  io_uring fixed buffers (long-term pins): not probed")?
            }
            Probe::Available => {
                writeln!(f, "  io_uring fixed buffers (long-term pins): available")?
            }
            Probe::Unavailable(e) => writeln!(
                f,
                "  io_uring fixed buffers (long-term pins): unavailable: {e}"
            )?,
        }
        match self.hmm_devices.as_slice() {
            [] => writeln!(
                f,
                "  HMM test driver: none (device ops are not expressible)"
            )?,
            devs => writeln!(
                f,
                "  HMM test driver: {}",
                devs.iter()
                    .map(|d| format!("/dev/hmm_dmirror{d}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )?,
        }
        writeln!(
            f,
            "  GUP test interface (long-term pins, {}): {}",
            crate::child::GUP_TEST,
            if self.gup_test { "present" } else { "absent" }
        )?;
        writeln!(
            f,
            "  MADV_DONTNEED of a whole PMD block frees its page table (CONFIG_PT_RECLAIM): {}",
            if self.pt_reclaim { "yes" } else { "no" }
        )?;
        if let Some(u) = &self.unsupported {
            writeln!(f, "  kernel engine unsupported: {u}")?;
        }
        for d in self.differences() {
            writeln!(f, "  differs from the models: {d}")?;
        }
        Ok(())
    }
}

fn opt<T: fmt::Display>(v: Option<T>) -> String {
    v.map_or("?".into(), |v| v.to_string())
}

/// The bracketed word of a sysfs choice file (`always [madvise] never`).
pub fn selected(choice: &str) -> String {
    choice
        .split_whitespace()
        .find(|w| w.starts_with('[') && w.ends_with(']'))
        .map(|w| w.trim_matches(|c| c == '[' || c == ']').to_string())
        .unwrap_or_else(|| choice.trim().to_string())
}

/// A `Key:  1234 kB` line of `/proc/meminfo`, in pages of `page_size`.
pub fn meminfo_pages(meminfo: &str, key: &str, page_size: u64) -> u64 {
    meminfo
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            let kb: u64 = rest.split_whitespace().next()?.parse().ok()?;
            Some(kb * 1024 / page_size.max(1))
        })
        .unwrap_or(0)
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub use probe::probe;

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
/// On this platform the kernel engine does not exist.
pub fn probe() -> Environment {
    Environment {
        arch: std::env::consts::ARCH.into(),
        unsupported: Some("the kernel engine needs Linux on x86-64".into()),
        ..Environment::default()
    }
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod probe {
    use std::fs;
    use std::os::unix::fs::FileExt;
    use std::path::{Path, PathBuf};

    use super::{meminfo_pages, selected, Environment, ThpFacts};

    const THP: &str = "/sys/kernel/mm/transparent_hugepage";

    fn read(path: impl AsRef<Path>) -> Option<String> {
        fs::read_to_string(path).ok().map(|s| s.trim().to_string())
    }

    fn number(path: impl AsRef<Path>) -> Option<u64> {
        read(path)?.parse().ok()
    }

    /// Reads the environment. Cheap (a few file reads and one probe page);
    /// call once per run.
    pub fn probe() -> Environment {
        let page_size = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
            .ok()
            .flatten()
            .map_or(4096, |v| v as u64);
        let meminfo = read("/proc/meminfo").unwrap_or_default();
        let mut env = Environment {
            kernel_release: read("/proc/sys/kernel/osrelease").unwrap_or_default(),
            arch: std::env::consts::ARCH.into(),
            page_size,
            mem_pages: meminfo_pages(&meminfo, "MemTotal", page_size),
            cma_pages: meminfo_pages(&meminfo, "CmaTotal", page_size),
            swap_pages: meminfo_pages(&meminfo, "SwapTotal", page_size),
            thp: thp_facts(page_size),
            fault_around_bytes: number("/sys/kernel/debug/fault_around_bytes"),
            // The kernel default (1 MiB) when the file cannot be read.
            pipe_max_pages: number("/proc/sys/fs/pipe-max-size").unwrap_or(1 << 20)
                / page_size.max(1),
            numa_balancing: number("/proc/sys/kernel/numa_balancing"),
            tmpfs_dir: tmpfs_dir(),
            disk_dir: disk_dir(),
            ..Environment::default()
        };
        probe_pagemap(&mut env);
        env.io_uring_fixed_buffers = match crate::sys::with_probe_page(|addr| {
            crate::sys::io_uring_register_probe(addr, 4096)
        })
        .and_then(|r| r)
        {
            Ok(()) => super::Probe::Available,
            Err(e) => super::Probe::Unavailable(nix::errno::Errno::from_raw(e).desc().into()),
        };
        env.gup_test = std::path::Path::new(crate::child::GUP_TEST).exists();
        env.hmm_devices = (0..4u8)
            .filter(|d| std::path::Path::new(&format!("/dev/hmm_dmirror{d}")).exists())
            .collect();
        env.pt_reclaim = env
            .thp
            .pmd_pages
            .is_some_and(|pages| crate::sys::pt_reclaim_probe((pages * page_size) as usize));
        env.unsupported = unsupported(&env);
        env
    }

    fn thp_facts(page_size: u64) -> ThpFacts {
        let mut sizes = Vec::new();
        if let Ok(dir) = fs::read_dir(THP) {
            for e in dir.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let Some(kb) = name
                    .strip_prefix("hugepages-")
                    .and_then(|s| s.strip_suffix("kB"))
                    .and_then(|s| s.parse::<u64>().ok())
                else {
                    continue;
                };
                if let Some(mode) = read(e.path().join("enabled")) {
                    sizes.push((kb, selected(&mode)));
                }
            }
        }
        sizes.sort();
        ThpFacts {
            enabled: read(format!("{THP}/enabled")).map_or_else(String::new, |s| selected(&s)),
            defrag: read(format!("{THP}/defrag")).map_or_else(String::new, |s| selected(&s)),
            use_zero_page: number(format!("{THP}/use_zero_page")).map(|v| v != 0),
            shmem_enabled: read(format!("{THP}/shmem_enabled"))
                .map_or_else(String::new, |s| selected(&s)),
            pmd_pages: number(format!("{THP}/hpage_pmd_size")).map(|b| b / page_size.max(1)),
            sizes,
            khugepaged_sleep_ms: number(format!("{THP}/khugepaged/scan_sleep_millisecs")),
        }
    }

    const TMPFS_MAGIC: u64 = 0x0102_1994;

    fn fs_magic(dir: &Path) -> Option<u64> {
        nix::sys::statfs::statfs(dir)
            .ok()
            .map(|s| s.filesystem_type().0 as u64)
    }

    fn writable(dir: &Path) -> bool {
        nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok()
    }

    fn tmpfs_dir() -> Option<PathBuf> {
        let d = PathBuf::from("/dev/shm");
        (fs_magic(&d) == Some(TMPFS_MAGIC) && writable(&d)).then_some(d)
    }

    /// A writable directory on a disk filesystem (not tmpfs, not a
    /// pseudo filesystem): the models' `ext4` is any filesystem with
    /// writeback, where writable shared mappings need write-notify.
    fn disk_dir() -> Option<(PathBuf, String)> {
        let known = [
            (0xEF53u64, "ext4"),
            (0x5846_5342, "xfs"),
            (0x9123_683E, "btrfs"),
            (0xF2F5_2010, "f2fs"),
        ];
        let candidates = [
            PathBuf::from("/var/tmp"),
            std::env::temp_dir(),
            PathBuf::from("/tmp"),
        ];
        candidates.into_iter().find_map(|d| {
            let magic = fs_magic(&d)?;
            let name = known.iter().find(|(m, _)| *m == magic)?.1;
            writable(&d).then(|| (d, name.to_string()))
        })
    }

    /// Soft-dirty and pfn visibility from this process's own pagemap on a
    /// fresh page, and whether kpageflags and `PAGEMAP_SCAN` work.
    fn probe_pagemap(env: &mut Environment) {
        let Ok(pagemap) = fs::File::open("/proc/self/pagemap") else {
            return;
        };
        let probed = crate::sys::with_probe_page(|addr| {
            let mut word = [0u8; 8];
            let entry = pagemap
                .read_exact_at(&mut word, addr / 4096 * 8)
                .ok()
                .map(|()| u64::from_le_bytes(word));
            use std::os::fd::AsFd;
            let mut regions = [crate::sys::PageRegion::default(); 4];
            let scan = crate::sys::pagemap_scan(
                pagemap.as_fd(),
                addr,
                addr + 4096,
                1 << 3,
                1 << 3,
                &mut regions,
            )
            .is_ok_and(|(n, _)| n == 1);
            (entry, scan)
        });
        if let Ok((Some(entry), scan)) = probed {
            env.soft_dirty = entry & (1 << 55) != 0;
            let pfn = entry & ((1 << 55) - 1);
            env.pfns_visible = entry & (1 << 63) != 0 && pfn != 0;
            env.pagemap_scan = scan;
            let mut w = [0u8; 8];
            env.kpage_readable = pfn != 0
                && fs::File::open("/proc/kpageflags")
                    .and_then(|f| f.read_exact_at(&mut w, pfn * 8))
                    .is_ok()
                && fs::File::open("/proc/kpagecount")
                    .and_then(|f| f.read_exact_at(&mut w, pfn * 8))
                    .is_ok();
        }
    }

    fn unsupported(env: &Environment) -> Option<String> {
        if env.page_size != 4096 {
            return Some(format!(
                "page size {} (the models have 4096)",
                env.page_size
            ));
        }
        if !env.pfns_visible || !env.kpage_readable {
            return Some(
                "page frame numbers and /proc/kpageflags are not readable (needs CAP_SYS_ADMIN)"
                    .into(),
            );
        }
        if !env.pagemap_scan {
            return Some("the PAGEMAP_SCAN ioctl is missing (Linux 6.7+)".into());
        }
        if env.tmpfs_dir.is_none() {
            return Some("no writable tmpfs at /dev/shm".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysfs_choices_and_meminfo_parse() {
        assert_eq!(selected("always [madvise] never"), "madvise");
        assert_eq!(selected("1"), "1");
        let m = "MemTotal:       24684084 kB\nSwapTotal:             0 kB\n";
        assert_eq!(meminfo_pages(m, "MemTotal", 4096), 24684084 / 4);
        assert_eq!(meminfo_pages(m, "SwapTotal", 4096), 0);
        assert_eq!(meminfo_pages(m, "CmaTotal", 4096), 0);
    }

    #[test]
    fn the_oracle_config_keeps_the_scenario_sizes_and_takes_the_machine_memory() {
        let env = Environment {
            mem_pages: 1000,
            swap_pages: 7,
            ..Environment::default()
        };
        let base = Config {
            window_pages: 4096,
            ..Config::default()
        };
        let c = env.oracle_config(&base);
        assert_eq!(c.window_pages, 4096);
        assert_eq!(c.zone_pages, [1000, 0, 0]);
        assert_eq!(c.swap_slots, 7);
        assert_eq!(c.iommu_chunk, base.iommu_chunk);
    }

    #[test]
    fn differences_name_what_the_config_cannot_express() {
        let models_machine = Environment {
            page_size: 4096,
            thp: ThpFacts {
                enabled: "madvise".into(),
                use_zero_page: Some(true),
                shmem_enabled: "never".into(),
                pmd_pages: Some(512),
                sizes: vec![(64, "never".into()), (2048, "inherit".into())],
                ..ThpFacts::default()
            },
            fault_around_bytes: Some(4096),
            soft_dirty: true,
            disk_dir: Some(("/var/tmp".into(), "ext4".into())),
            ..Environment::default()
        };
        assert_eq!(models_machine.differences(), Vec::<String>::new());
        let mut other = models_machine.clone();
        other.thp.use_zero_page = Some(false);
        other.thp.sizes[0].1 = "always".into();
        other.soft_dirty = false;
        let d = other.differences().join("\n");
        assert!(d.contains("use_zero_page=0"), "{d}");
        assert!(d.contains("64 KiB"), "{d}");
        assert!(d.contains("soft-dirty"), "{d}");
    }
}
