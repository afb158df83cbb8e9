//! The byte decoder. (Being written.)

use crate::op::Op;

pub fn decode(_data: &[u8]) -> Vec<Op> {
    unimplemented!("bytes::decode")
}

pub fn encode(_ops: &[Op]) -> Vec<u8> {
    unimplemented!("bytes::encode")
}
