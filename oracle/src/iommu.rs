//! powerpc IOMMU preregistration (seed 000). (Being written.)

use mmdiff_core::op::IommuId;
use mmdiff_core::outcome::Outcome;

use crate::world::World;

impl World {
    pub fn iommu_prereg(&mut self, _i: IommuId, _p: usize, _start: u64, _end: u64) -> Outcome {
        Outcome::Err(mmdiff_core::Errno::EINVAL)
    }
    pub fn iommu_translate(&self, _i: IommuId, _index: u32) -> Outcome {
        Outcome::OK
    }
    pub fn iommu_unreg(&mut self, _i: IommuId) -> Outcome {
        Outcome::OK
    }
}
