//! Where the models' windows live in a real address space.
//!
//! The models number pages absolutely: window `mK` covers absolute pages
//! `(K+1)*W .. (K+2)*W` (`Config::window_base`), and a VMA never crosses a
//! window. In a scenario process the windows are spread out with a guard
//! gap of one window after each, so that the kernel cannot merge VMAs of
//! neighbouring windows either: absolute page `n` of window index
//! `k = n / W` lives at `AREA_BASE + (2*k*W + n % W) * PAGE_SIZE`. Every
//! window is PMD-aligned, as in the models.
//!
//! The *window area* `[AREA_BASE, AREA_BASE + AREA_LEN)` holds every window
//! of every configuration the op language allows (windows of up to
//! [`MAX_PAGE`] pages). It sits far below where Linux places `mmap(NULL)`
//! and the program's own mappings (near the top of the 47-bit user space),
//! and each scenario process checks at start that it is empty
//! (`MAP_FIXED_NOREPLACE`); after that only the executor maps there.

use mmdiff_core::op::{SlotId, MAX_PAGE};
use mmdiff_core::Config;

/// Bytes per page: the models' 4 KiB pages.
pub const PAGE_SIZE: u64 = 4096;

/// The `u64` at the start of each page of `bytes` (whole pages): the value
/// mmdiff compares, read from a buffer the kernel copied pages into.
pub fn first_words(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(PAGE_SIZE as usize)
        .map(|page| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&page[..8]);
            u64::from_le_bytes(w)
        })
        .collect()
}

/// First address of the window area (16 TiB, PMD- and PUD-aligned).
pub const AREA_BASE: u64 = 0x1000_0000_0000;

/// Bytes of the window area: every window index up to `SLOTS + 1`, each
/// followed by its gap, for windows of up to [`MAX_PAGE`] pages.
pub const AREA_LEN: u64 = 2 * (SlotId::COUNT as u64 + 1) * MAX_PAGE as u64 * PAGE_SIZE;

/// Whether `[addr, addr + len)` lies inside the window area.
pub fn within_area(addr: u64, len: u64) -> bool {
    addr >= AREA_BASE
        && addr
            .checked_add(len)
            .is_some_and(|end| end <= AREA_BASE + AREA_LEN)
}

/// Absolute pages ↔ addresses for one window size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    window_pages: u64,
}

impl Layout {
    pub fn new(config: &Config) -> Layout {
        Layout {
            window_pages: config.window_pages.max(1) as u64,
        }
    }

    /// The virtual address of absolute page `page`.
    pub fn addr_of_page(&self, page: u64) -> u64 {
        let w = self.window_pages;
        AREA_BASE + (2 * (page / w) * w + page % w) * PAGE_SIZE
    }

    /// The absolute page at `addr`; `None` outside the windows (in a gap or
    /// outside the area).
    pub fn page_of_addr(&self, addr: u64) -> Option<u64> {
        if !within_area(addr, 1) {
            return None;
        }
        let w = self.window_pages;
        let off = (addr - AREA_BASE) / PAGE_SIZE;
        let (k, rel) = (off / (2 * w), off % (2 * w));
        (rel < w).then_some(k * w + rel)
    }

    /// The absolute page just past the page that ends at `end` (a VMA's
    /// exclusive end may be a window's end, where the gap starts).
    pub fn page_after(&self, end: u64) -> Option<u64> {
        self.page_of_addr(end.checked_sub(PAGE_SIZE)?)
            .map(|p| p + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_words_take_each_pages_leading_u64() {
        let mut bytes = vec![0u8; 2 * PAGE_SIZE as usize];
        bytes[..8].copy_from_slice(&7u64.to_le_bytes());
        bytes[8] = 0xff; // past the word: not part of it
        let second = PAGE_SIZE as usize;
        bytes[second..second + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(first_words(&bytes), vec![7, u64::MAX]);
        assert!(first_words(&[]).is_empty());
    }

    #[test]
    fn windows_are_spread_out_pmd_aligned_and_round_trip() {
        for window_pages in [512, 2048, MAX_PAGE] {
            let cfg = Config {
                window_pages,
                ..Config::default()
            };
            let l = Layout::new(&cfg);
            let w = window_pages as u64;
            for slot in 0..SlotId::COUNT {
                let first = cfg.window_base(slot);
                let last = first + w - 1;
                for page in [first, last] {
                    let a = l.addr_of_page(page);
                    assert!(within_area(a, PAGE_SIZE), "{window_pages} {slot}");
                    assert_eq!(l.page_of_addr(a), Some(page));
                    assert_eq!(l.page_after(a + PAGE_SIZE), Some(page + 1));
                }
                assert_eq!(l.addr_of_page(first) % (512 * PAGE_SIZE), 0);
                // The page after a window's last page is in the gap.
                assert_eq!(l.page_of_addr(l.addr_of_page(last) + PAGE_SIZE), None);
            }
        }
        assert!(!within_area(AREA_BASE - 1, 1));
        assert!(!within_area(AREA_BASE, AREA_LEN + 1));
        assert!(!within_area(u64::MAX - 1, 4));
    }
}
