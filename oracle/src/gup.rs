//! GUP: `get_user_pages*` / `pin_user_pages*` (mm/gup.c). (Being written.)

use mmdiff_core::op::{Fill, GupFlags, HandleId};
use mmdiff_core::outcome::Outcome;

use crate::world::World;

impl World {
    /// The `gup` op over absolute pages `[start, end)` of process `p`;
    /// `base` is the window-relative page of `start` (kept in the handle).
    pub fn gup_op(&mut self, _p: usize, _start: u64, _end: u64, _base: u64, _h: HandleId, _flags: GupFlags) -> Outcome {
        Outcome::Err(mmdiff_core::Errno::EINVAL)
    }
    pub fn release_handle(&mut self, _h: HandleId, _dirty: bool) -> Outcome {
        Outcome::OK
    }
    pub fn dma_read(&self, _h: HandleId, _start: u32, _end: u32) -> Outcome {
        Outcome::OK
    }
    pub fn dma_write(&mut self, _h: HandleId, _start: u32, _end: u32, _fill: Fill) -> Outcome {
        Outcome::OK
    }
}
