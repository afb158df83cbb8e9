//! Running a scenario on a model. (Being written.)
