//! Migration of folios between zones. (Being written.)

use mmdiff_core::outcome::Outcome;

use crate::world::World;

impl World {
    pub fn cma_evacuate(&mut self) -> Outcome {
        Outcome::count(0)
    }
}
