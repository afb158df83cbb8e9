//! Model configuration: sizes that both models must agree on.

use crate::op::{PageAt, PageRange, Zone, PMD_PAGES};

/// Sizes of the modelled machine. Both models of one run get the same config.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Config {
    /// Pages per mapping window; a multiple of [`PMD_PAGES`].
    pub window_pages: u32,
    /// Total pages of each zone, indexed by [`Zone::index`].
    pub zone_pages: [u64; 3],
    /// Swap slots available to reclaim.
    pub swap_slots: u64,
    /// Pages per `pin_user_pages` chunk in `iommu-prereg` (powerpc
    /// `mm_iommu_do_alloc` pins in chunks of this many pages).
    pub iommu_chunk: u32,
    /// Pages of memory per device (small, so exhaustion is reachable).
    pub device_pages: u64,
    /// The kernel version whose rules the models follow where versions
    /// differ (docs/semantics.md, "Kernel versions"); 6.19 by default.
    pub kernel: KernelVersion,
}

/// A kernel version `major.minor`, compared in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct KernelVersion {
    pub major: u8,
    pub minor: u8,
}

impl KernelVersion {
    /// The models' baseline (reference §0.1).
    pub const BASELINE: KernelVersion = KernelVersion::new(6, 19);

    pub const fn new(major: u8, minor: u8) -> KernelVersion {
        KernelVersion { major, minor }
    }

    /// `6.12`, or the first two numbers of a release (`6.12.117-amd64`).
    pub fn parse(s: &str) -> Option<KernelVersion> {
        let mut numbers = s.split(|c: char| !c.is_ascii_digit());
        let major = numbers.next()?.parse().ok()?;
        let minor = numbers.next()?.parse().ok()?;
        Some(KernelVersion { major, minor })
    }

    /// `mremap()` moves a range over several VMAs (`remap_move`, Linux
    /// 6.17, d23cb648e365); before, the range must lie in one VMA.
    pub fn mremap_moves_vmas(self) -> bool {
        self >= KernelVersion::new(6, 17)
    }

    /// A write fault on the huge zero page maps a new THP
    /// (`do_huge_zero_wp_pmd`, Linux 6.13); before, the PMD is split into
    /// zero-page PTEs and the PTE fault maps one new page.
    pub fn thp_on_huge_zero_write(self) -> bool {
        self >= KernelVersion::new(6, 13)
    }

    /// `MADV_COLLAPSE` collapses a block none of whose PTEs is writable
    /// (after fork, say); before, the scan ends with `SCAN_PAGE_RO`
    /// (`EINVAL`). Absent on 6.12, present on 6.18: the check's removal
    /// was discussed on linux-mm in September 2025, so 6.18 is taken as
    /// the first version.
    pub fn collapses_read_only_ptes(self) -> bool {
        self >= KernelVersion::new(6, 18)
    }

    /// Device-exclusive entries keep the page's mapcount and are one
    /// entry type (David Hildenbrand's rework, Linux 6.15:
    /// `make_device_exclusive` takes one page, `restore_exclusive_pte`
    /// follows `can_change_pte_writable`). Before, `make_device_exclusive_range`
    /// removes the rmap (`page_make_device_exclusive_one` converts every
    /// present mapping of the folio, keeping a writable and a readable
    /// variant), fails for tail pages and locked folios, and restoring
    /// adds the rmap back and maps a writable entry dirty and writable
    /// wherever the VMA allows (`maybe_mkwrite(pte_mkdirty())`).
    pub fn device_exclusive_keeps_mapcount(self) -> bool {
        self >= KernelVersion::new(6, 15)
    }

    /// `MADV_COLLAPSE` (and khugepaged) refuse a block with a non-present
    /// entry that is not a swap entry (`SCAN_PTE_NON_PRESENT`; Lance
    /// Yang's "abort collapse scan on non-swap entries", October 2025,
    /// taken as 6.19); before, `is_swap_pte` counts device-private and
    /// device-exclusive entries as swap entries and
    /// `__collapse_huge_page_swapin` faults them back (`do_swap_page`:
    /// `migrate_to_ram`, `remove_device_exclusive_entry`) before the
    /// block collapses.
    pub fn collapse_refuses_non_swap_entries(self) -> bool {
        self >= KernelVersion::new(6, 19)
    }

    /// Whether `migrate_vma_collect_pmd` splits a PTE-mapped large folio
    /// it meets (from 6.15, reference §0.2: "large folios split in
    /// collect"); before, the pages of such a folio are not collected
    /// (`PageTransCompound`, "FIXME support THP"), as seen on 6.12.
    pub fn collect_splits_large_folios(self) -> bool {
        self >= KernelVersion::new(6, 15)
    }

    /// `migrate_vma_setup` can select a PMD-mapped THP whole
    /// (`MIGRATE_VMA_SELECT_COMPOUND`) and test_hmm migrates it as a
    /// device-private THP (Linux 6.19); before, the collection splits it
    /// and every page migrates as a small folio.
    pub fn migrates_device_thps(self) -> bool {
        self >= KernelVersion::new(6, 19)
    }

    /// test_hmm's MIGRATE_TO_DEV maps a migrated page WRITE in the device
    /// table only if its source entry was `MIGRATE_PFN_WRITE` (6.19, the
    /// device THP series); before, also a page with no source page (a hole
    /// or the zero page) in a `VM_WRITE` VMA
    /// (`dmirror_migrate_alloc_and_copy`).
    pub fn dmirror_maps_holes_writable(self) -> bool {
        self < KernelVersion::new(6, 19)
    }

    /// Pages per `hmm_range_fault` call of test_hmm's device faults and
    /// snapshots (`pfns[]` of `dmirror_fault`, `dmirror_snapshot`): 32
    /// from Linux 6.17 ("lib/test_hmm: reduce stack usage", June 2025),
    /// 64 before. A call that fails stores nothing, so the size decides
    /// how much of a range that fails part-way the device has mapped.
    pub fn dmirror_chunk_pages(self) -> u64 {
        if self >= KernelVersion::new(6, 17) {
            32
        } else {
            64
        }
    }
}

impl Default for KernelVersion {
    fn default() -> Self {
        KernelVersion::BASELINE
    }
}

impl std::fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            window_pages: 2048,
            zone_pages: [16384, 4096, 4096],
            swap_slots: 65536,
            iommu_chunk: 64,
            device_pages: 2048,
            kernel: KernelVersion::BASELINE,
        }
    }
}

impl Config {
    /// A scenario's `#! config:` header: `key=value` words (`window_pages`,
    /// `zone_pages=normal,movable,cma`, `swap_slots`, `iommu_chunk`,
    /// `device_pages`, `kernel=6.12`), defaults for the rest; the result is
    /// validated.
    pub fn from_header(s: &str) -> Result<Config, String> {
        let mut c = Config::default();
        for word in s.split_whitespace() {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| format!("config: expected key=value, found `{word}`"))?;
            let num = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| format!("config: `{key}`: `{v}` is not a number"))
            };
            let small = |v: &str| {
                u32::try_from(num(v)?).map_err(|_| format!("config: `{key}`: {v} is too large"))
            };
            match key {
                "window_pages" => c.window_pages = small(value)?,
                "iommu_chunk" => c.iommu_chunk = small(value)?,
                "device_pages" => c.device_pages = num(value)?,
                "swap_slots" => c.swap_slots = num(value)?,
                "kernel" => {
                    c.kernel = KernelVersion::parse(value)
                        .filter(|v| value == v.to_string())
                        .ok_or_else(|| {
                            format!("config: kernel: expected a version like 6.12, found `{value}`")
                        })?
                }
                "zone_pages" => {
                    let parts: Vec<&str> = value.split(',').collect();
                    if parts.len() != 3 {
                        return Err(format!(
                            "config: zone_pages needs normal,movable,cma, found `{value}`"
                        ));
                    }
                    for (slot, part) in c.zone_pages.iter_mut().zip(parts) {
                        *slot = num(part)?;
                    }
                }
                other => return Err(format!("config: unknown key `{other}`")),
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// First page (absolute page number) of window `slot`. Window 0 starts
    /// one window above address 0 so that no mapping sits at NULL.
    pub fn window_base(&self, slot: u8) -> u64 {
        (slot as u64 + 1) * self.window_pages as u64
    }

    /// Absolute pages `[start, end)` of a window range; `None` when the
    /// range is empty or runs past the end of its window (the op is then
    /// `EINVAL`, docs/semantics.md "Windows").
    pub fn abs_range(&self, r: &PageRange) -> Option<(u64, u64)> {
        if r.start >= r.end || r.end > self.window_pages {
            return None;
        }
        let base = self.window_base(r.slot.0);
        Some((base + r.start as u64, base + r.end as u64))
    }

    /// The absolute page of a window page, `None` past the window.
    pub fn abs_page(&self, at: &PageAt) -> Option<u64> {
        let r = PageRange::new(at.slot, at.page, at.page.saturating_add(1));
        Some(self.abs_range(&r)?.0)
    }

    /// Which window an absolute page number lies in, and its offset there.
    pub fn window_of(&self, page: u64) -> (u8, u32) {
        let w = self.window_pages as u64;
        ((page / w - 1) as u8, (page % w) as u32)
    }

    pub fn zone_total(&self, zone: Zone) -> u64 {
        self.zone_pages[zone.index()]
    }

    /// Checks the config is usable; models assume it is.
    pub fn validate(&self) -> Result<(), String> {
        if self.window_pages == 0 || !self.window_pages.is_multiple_of(PMD_PAGES) {
            return Err(format!(
                "window_pages {} is not a positive multiple of {PMD_PAGES}",
                self.window_pages
            ));
        }
        if self.window_pages > crate::op::MAX_PAGE {
            return Err(format!(
                "window_pages {} exceeds {}",
                self.window_pages,
                crate::op::MAX_PAGE
            ));
        }
        if self.iommu_chunk == 0 {
            return Err("iommu_chunk must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_headers() {
        let c = Config::from_header("window_pages=4096 zone_pages=1,2,3 device_pages=7").unwrap();
        assert_eq!(c.window_pages, 4096);
        assert_eq!(c.zone_pages, [1, 2, 3]);
        assert_eq!(c.device_pages, 7);
        assert_eq!(c.swap_slots, Config::default().swap_slots);
        assert_eq!(Config::from_header(""), Ok(Config::default()));
        for bad in [
            "window_pages",
            "zone_pages=1,2",
            "frobs=1",
            "window_pages=-1",
            "window_pages=1000",
        ] {
            assert!(Config::from_header(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn window_ranges_resolve_to_absolute_pages_or_nothing() {
        use crate::op::SlotId;
        let c = Config::default();
        let w = c.window_pages as u64;
        let r = |slot, start, end| PageRange::new(SlotId(slot), start, end);
        assert_eq!(c.abs_range(&r(0, 0, 4)), Some((w, w + 4)));
        assert_eq!(c.abs_range(&r(2, 10, 11)), Some((3 * w + 10, 3 * w + 11)));
        assert_eq!(c.abs_range(&r(1, 0, c.window_pages)), Some((2 * w, 3 * w)));
        assert_eq!(c.abs_range(&r(1, 0, c.window_pages + 1)), None);
        assert_eq!(c.abs_range(&r(1, 5, 5)), None);
        let at = |slot, page| PageAt {
            slot: SlotId(slot),
            page,
        };
        assert_eq!(c.abs_page(&at(1, 7)), Some(2 * w + 7));
        assert_eq!(c.abs_page(&at(1, c.window_pages)), None);
        assert_eq!(c.abs_page(&at(1, u32::MAX)), None);
    }

    #[test]
    fn a_scenario_runs_on_its_config_header() {
        let s = crate::text::parse(
            "#! config: window_pages=4096
reclaim
",
        )
        .unwrap();
        assert_eq!(s.config().map(|c| c.window_pages), Ok(4096));
        let s = crate::text::parse(
            "#! title: t
#! config: window_pages=7
reclaim
",
        )
        .unwrap();
        let e = s.config().unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        assert!(e.found.contains("window_pages 7"), "{}", e.found);
        let s = crate::text::parse(
            "reclaim
",
        )
        .unwrap();
        assert_eq!(s.config(), Ok(Config::default()));
    }
}
