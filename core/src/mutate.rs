//! The structure-aware mutator: changes an op sequence the way a person
//! editing a scenario would (add an op, drop one, repeat one, reorder two,
//! nudge an argument, paste ops from another input) instead of flipping
//! bytes, most of which land in the middle of an op and change every op
//! after it.
//!
//! [`mutate`] is what `mmdiff fuzz` and the cargo-fuzz `fuzz_mutator!` call;
//! [`mutate_encoded`] wraps it for byte-level fuzzers (decode, mutate,
//! re-encode within a size limit) and [`crossover`] splices two inputs at
//! op boundaries for `fuzz_crossover!`. Every result is a valid op
//! sequence ([`Op::validate`]) that [`bytes::encode`] accepts, and every
//! choice comes from the caller's [`SplitMix64`], so the same seed gives
//! the same mutation.

use crate::bytes;
use crate::op::Op;
use crate::rng::SplitMix64;

mod tweak;
pub use tweak::Tweak;

#[cfg(test)]
mod tests;

/// What one call of [`mutate`] did: for statistics and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mutation {
    /// A new random op went in at a random place; half the time one of its
    /// arguments was first aligned with an existing op ([`Tweak::Align`]).
    Insert,
    /// One op was removed.
    Delete,
    /// A copy of one op went in, right after it or anywhere.
    Duplicate,
    /// Two different ops traded places (often neighbours).
    Swap,
    /// One argument of one op changed.
    Tweak(Tweak),
    /// A run of the donor's ops was inserted, or pasted over as many ops.
    Splice,
    /// Nothing can be done: `max_ops` is 0 (the sequence is now empty).
    Nothing,
}

#[derive(Clone, Copy)]
enum Kind {
    Insert,
    Delete,
    Duplicate,
    Swap,
    Tweak,
    Splice,
}

/// Relative weights. Argument tweaks come first: the planted faults and
/// most real divergences need a few ops whose arguments agree (the same
/// pages, a pin flag, a PMD-sized range), which random inserts rarely give.
const WEIGHTS: [(Kind, u64); 6] = [
    (Kind::Insert, 3),
    (Kind::Delete, 2),
    (Kind::Duplicate, 1),
    (Kind::Swap, 1),
    (Kind::Tweak, 6),
    (Kind::Splice, 1),
];

/// Kinds drawn before giving up on a change (an empty sequence can't be
/// tweaked, two equal ops can't be swapped, ...).
const ATTEMPTS: usize = 16;

/// Bytes decoded into a fresh op: enough for any op's fields.
const NEW_OP_BYTES: usize = 32;

/// Applies one mutation to `ops` and says which.
///
/// Afterwards `ops` is valid and holds at most `max_ops` ops (and at most
/// [`bytes::MAX_OPS`], so that it re-encodes). Invalid ops in the input
/// are dropped and a longer input is cut first. `donor` provides runs of
/// ops to splice in (pass `&[]` for none; its invalid ops are skipped).
/// Deterministic given `rng`.
pub fn mutate(ops: &mut Vec<Op>, donor: &[Op], rng: &mut SplitMix64, max_ops: usize) -> Mutation {
    let max_ops = max_ops.min(bytes::MAX_OPS);
    ops.retain(|op| op.validate().is_ok());
    ops.truncate(max_ops);
    if max_ops == 0 {
        return Mutation::Nothing;
    }
    let total: u64 = WEIGHTS.iter().map(|(_, w)| w).sum();
    for _ in 0..ATTEMPTS {
        let mut draw = rng.below(total);
        let mut kind = Kind::Tweak;
        for (k, w) in WEIGHTS {
            if draw < w {
                kind = k;
                break;
            }
            draw -= w;
        }
        let done = match kind {
            Kind::Insert => insert(ops, rng, max_ops),
            Kind::Delete => delete(ops, rng),
            Kind::Duplicate => duplicate(ops, rng, max_ops),
            Kind::Swap => swap(ops, rng),
            Kind::Tweak => tweak(ops, rng),
            Kind::Splice => splice(ops, donor, rng, max_ops),
        };
        if let Some(m) = done {
            return m;
        }
    }
    // One of these always applies: max_ops >= 1, so a sequence either has
    // room for one more op or is non-empty.
    insert(ops, rng, max_ops)
        .or_else(|| delete(ops, rng))
        .unwrap_or(Mutation::Nothing)
}

/// Decodes `data`, applies [`mutate`] and re-encodes, dropping ops from
/// the end until the encoding fits in `max_len` bytes (the encoding is the
/// ops' encodings one after the other, so a prefix of ops is a prefix of
/// bytes). What libFuzzer's and other byte fuzzers' custom mutators call.
pub fn mutate_encoded(
    data: &[u8],
    donor: &[Op],
    rng: &mut SplitMix64,
    max_len: usize,
) -> (Vec<u8>, Mutation) {
    let mut ops = bytes::decode(data);
    let m = mutate(&mut ops, donor, rng, bytes::MAX_OPS);
    (encode_within(&ops, max_len), m)
}

/// The first ops of `a` followed by the last ops of `b`, cut at random op
/// boundaries, at most `max_ops` (and [`bytes::MAX_OPS`]) ops, invalid ops
/// dropped: libFuzzer's crossover, at op boundaries instead of bytes.
pub fn crossover(a: &[Op], b: &[Op], rng: &mut SplitMix64, max_ops: usize) -> Vec<Op> {
    let i = rng.below(a.len() as u64 + 1) as usize;
    let j = rng.below(b.len() as u64 + 1) as usize;
    let mut out: Vec<Op> = a[..i]
        .iter()
        .chain(&b[j..])
        .filter(|op| op.validate().is_ok())
        .cloned()
        .collect();
    out.truncate(max_ops.min(bytes::MAX_OPS));
    out
}

/// The encoding of the longest prefix of `ops` that fits in `max_len`
/// bytes. `ops` must be valid (what [`mutate`] and [`crossover`] return);
/// an op the encoder refuses ends the prefix.
pub fn encode_within(ops: &[Op], max_len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for op in ops.iter().take(bytes::MAX_OPS) {
        let Ok(one) = bytes::encode(std::slice::from_ref(op)) else {
            break;
        };
        if out.len() + one.len() > max_len {
            break;
        }
        out.extend_from_slice(&one);
    }
    out
}

fn coin(rng: &mut SplitMix64) -> bool {
    rng.below(2) == 1
}

fn index(rng: &mut SplitMix64, len: usize) -> usize {
    rng.below(len as u64) as usize
}

/// A random valid op: the first op of random bytes, so that new ops have
/// the decoder's bias toward the first slots and the pages where
/// behaviour changes.
fn random_op(rng: &mut SplitMix64) -> Op {
    let mut buf = [0u8; NEW_OP_BYTES];
    rng.fill(&mut buf);
    // Non-empty bytes always decode to at least one op.
    bytes::decode(&buf)
        .into_iter()
        .next()
        .unwrap_or(Op::Reclaim)
}

fn insert(ops: &mut Vec<Op>, rng: &mut SplitMix64, max_ops: usize) -> Option<Mutation> {
    if ops.len() >= max_ops {
        return None;
    }
    let mut op = random_op(rng);
    let mut first = 0;
    if !ops.is_empty() && coin(rng) {
        let mut aligned = op.clone();
        let source = index(rng, ops.len());
        tweak::align(rng, &mut aligned, &ops[source]);
        if aligned.validate().is_ok() {
            op = aligned;
            // After its source: an op aligned with an mmap or a gup is
            // meant to act on what that op created.
            first = source + 1;
        }
    }
    let at = first + index(rng, ops.len() + 1 - first);
    ops.insert(at, op);
    Some(Mutation::Insert)
}

fn delete(ops: &mut Vec<Op>, rng: &mut SplitMix64) -> Option<Mutation> {
    if ops.is_empty() {
        return None;
    }
    let i = index(rng, ops.len());
    ops.remove(i);
    Some(Mutation::Delete)
}

fn duplicate(ops: &mut Vec<Op>, rng: &mut SplitMix64, max_ops: usize) -> Option<Mutation> {
    if ops.is_empty() || ops.len() >= max_ops {
        return None;
    }
    let i = index(rng, ops.len());
    let at = if coin(rng) {
        i + 1
    } else {
        index(rng, ops.len() + 1)
    };
    ops.insert(at, ops[i].clone());
    Some(Mutation::Duplicate)
}

fn swap(ops: &mut [Op], rng: &mut SplitMix64) -> Option<Mutation> {
    if ops.len() < 2 {
        return None;
    }
    let i = index(rng, ops.len());
    let j = if coin(rng) && i + 1 < ops.len() {
        i + 1
    } else {
        index(rng, ops.len())
    };
    if ops[i] == ops[j] {
        return None;
    }
    ops.swap(i, j);
    Some(Mutation::Swap)
}

/// Changes one argument of one op; a change that leaves the op as it was
/// or outside the op domain is undone and reported as no change.
fn tweak(ops: &mut [Op], rng: &mut SplitMix64) -> Option<Mutation> {
    if ops.is_empty() {
        return None;
    }
    let i = index(rng, ops.len());
    let before = ops[i].clone();
    let t = if ops.len() >= 2 && rng.below(3) == 0 {
        // Another op, never `i` itself.
        let j = (i + 1 + index(rng, ops.len() - 1)) % ops.len();
        let source = ops[j].clone();
        tweak::align(rng, &mut ops[i], &source);
        Tweak::Align
    } else {
        let mut fields = tweak::fields(&mut ops[i]);
        if fields.is_empty() {
            return None;
        }
        let pick = index(rng, fields.len());
        tweak::tweak_field(rng, fields.swap_remove(pick))
    };
    if ops[i] == before || ops[i].validate().is_err() {
        ops[i] = before;
        return None;
    }
    Some(Mutation::Tweak(t))
}

/// Inserts a run of up to 16 donor ops (as many as fit), or pastes it over
/// as many ops as the run has (or the sequence has left).
fn splice(
    ops: &mut Vec<Op>,
    donor: &[Op],
    rng: &mut SplitMix64,
    max_ops: usize,
) -> Option<Mutation> {
    let donor: Vec<&Op> = donor.iter().filter(|op| op.validate().is_ok()).collect();
    if donor.is_empty() {
        return None;
    }
    let k = 1 + index(rng, donor.len().min(16));
    let a = index(rng, donor.len() - k + 1);
    let run: Vec<Op> = donor[a..a + k].iter().map(|op| (*op).clone()).collect();
    let room = max_ops.saturating_sub(ops.len());
    if room > 0 && (ops.is_empty() || coin(rng)) {
        let at = index(rng, ops.len() + 1);
        let n = run.len().min(room);
        ops.splice(at..at, run[..n].iter().cloned());
        return Some(Mutation::Splice);
    }
    if ops.is_empty() {
        return None;
    }
    let at = index(rng, ops.len());
    let n = run.len().min(ops.len() - at);
    if ops[at..at + n] == run[..n] {
        return None;
    }
    ops[at..at + n].clone_from_slice(&run[..n]);
    Some(Mutation::Splice)
}
