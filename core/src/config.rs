//! Model configuration: sizes that both models must agree on.

use crate::op::{Zone, PMD_PAGES};

/// Sizes of the modelled machine. Both models of one run get the same config.
#[derive(Clone, Debug, PartialEq, Eq)]
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            window_pages: 2048,
            zone_pages: [16384, 4096, 4096],
            swap_slots: 65536,
            iommu_chunk: 64,
            device_pages: 2048,
        }
    }
}

impl Config {
    /// First page (absolute page number) of window `slot`. Window 0 starts
    /// one window above address 0 so that no mapping sits at NULL.
    pub fn window_base(&self, slot: u8) -> u64 {
        (slot as u64 + 1) * self.window_pages as u64
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
