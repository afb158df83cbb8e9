//! A counting wrapper around the system allocator, for the peak heap
//! figures of `mmdiff bench`.
//!
//! The `mmdiff` binary installs [`Counting`] as its global allocator;
//! counting stays off until [`enable`] so that the timed runs of the parent
//! process pay nothing but one relaxed load per allocation. Only the
//! `bench-child` process, which runs one workload on one model, turns it
//! on. Library tests do not install it: [`installed`] then reports false
//! and the bench refuses to print a peak of 0.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);
/// Signed: blocks allocated before [`enable`] and freed after it drive the
/// count below zero, which is harmless because peaks are measured relative
/// to the count at [`reset_peak`].
static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
/// Set by the first counted allocation: proof that this allocator is the
/// global one.
static SEEN: AtomicBool = AtomicBool::new(false);

/// `std::alloc::System`, plus current and peak live bytes once enabled.
pub struct Counting;

fn grow(bytes: usize) {
    let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrink(bytes: usize) {
    let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
    CURRENT.fetch_sub(bytes, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counters are plain atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && ENABLED.load(Ordering::Relaxed) {
            SEEN.store(true, Ordering::Relaxed);
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() && ENABLED.load(Ordering::Relaxed) {
            SEEN.store(true, Ordering::Relaxed);
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a block this allocator (System) returned.
        unsafe { System.dealloc(ptr, layout) };
        if ENABLED.load(Ordering::Relaxed) {
            shrink(layout.size());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller guarantees the contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() && ENABLED.load(Ordering::Relaxed) {
            SEEN.store(true, Ordering::Relaxed);
            // Live requested bytes change by the difference (as dhat counts
            // it): whether the block moved is System's business.
            if new_size >= layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        p
    }
}

/// Starts counting.
pub fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

/// True once an allocation went through [`Counting`] while enabled: the
/// binary installed it.
pub fn installed() -> bool {
    // A fresh allocation while enabled proves it either way.
    if ENABLED.load(Ordering::SeqCst) {
        drop(std::hint::black_box(Box::new(0u64)));
    }
    SEEN.load(Ordering::SeqCst)
}

/// Forgets the peak so far; returns the baseline later peaks are measured
/// from (the live bytes now).
pub fn reset_peak() -> isize {
    let now = CURRENT.load(Ordering::SeqCst);
    PEAK.store(now, Ordering::SeqCst);
    now
}

/// The highest live byte count since [`reset_peak`] returned `baseline`,
/// above that baseline.
pub fn peak_since(baseline: isize) -> u64 {
    u64::try_from(PEAK.load(Ordering::SeqCst) - baseline).unwrap_or(0)
}
