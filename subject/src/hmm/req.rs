//! The request of each page and what it needs (`hmm_pte_need_fault()`,
//! `hmm_range_need_fault()`).

use mmdiff_core::op::HmmReq;

use super::HmmRange;

/// What `hmm_pte_need_fault()` asks for (`HMM_NEED_FAULT`,
/// `HMM_NEED_WRITE_FAULT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) struct Need {
    pub(super) fault: bool,
    pub(super) write: bool,
}

impl Need {
    pub(super) fn any(self) -> bool {
        self.fault || self.write
    }
}

/// The CPU's view of an entry (`pte_to_hmm_pfn_flags`,
/// `pmd_to_hmm_pfn_flags`): `HMM_PFN_VALID`, `HMM_PFN_WRITE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) struct CpuFlags {
    pub(super) valid: bool,
    pub(super) write: bool,
}

pub(super) const NOT_VALID: CpuFlags = CpuFlags {
    valid: false,
    write: false,
};

/// `hmm_pte_need_fault()`: the request of a page is its input flags (under
/// the mask) or'ed with `default_flags`; without `REQ_FAULT` nothing is
/// faulted; `REQ_WRITE` on an entry that is not writable needs a write
/// fault; an entry that is not valid needs a fault.
pub(super) fn pte_need_fault(req: HmmReq, cpu: CpuFlags) -> Need {
    match req {
        HmmReq::None => Need::default(),
        HmmReq::Write if !cpu.write => Need {
            fault: true,
            write: true,
        },
        _ if !cpu.valid => Need {
            fault: true,
            write: false,
        },
        _ => Need::default(),
    }
}

/// The request of absolute page `page`: its input word under
/// `pfn_flags_mask`, or'ed with `default_flags`.
pub(super) fn req_at(r: &HmmRange, page: u64) -> HmmReq {
    let input = match r.page_req {
        Some((a, b, req)) if a <= page && page < b => req,
        _ => HmmReq::None,
    };
    // None ⊂ Fault ⊂ Write as flag sets: the union is the larger.
    input.max(r.default)
}

/// `hmm_range_need_fault()` over `[s, e)` for entries whose CPU flags are
/// `cpu`. Fast path: the oracle folds `hmm_pte_need_fault()` page by page;
/// the request takes at most two values over a range (`default_flags`, and
/// the input words of `page_req` where it overlaps), and the result is
/// monotonic in the request, so the union is the need of the largest one.
pub(super) fn range_need_fault(r: &HmmRange, s: u64, e: u64, cpu: CpuFlags) -> Need {
    if s >= e {
        return Need::default();
    }
    let mut req = r.default;
    if let Some((a, b, input)) = r.page_req {
        if a.max(s) < b.min(e) {
            req = req.max(input);
        }
    }
    pte_need_fault(req, cpu)
}

/// The first page of `[s, e)` whose `hmm_pte_need_fault()` for `cpu` asks
/// for a fault, with what it asks: the oracle's page-by-page scan of
/// `pte_none()` entries, computed from the (at most two) request values.
pub(super) fn first_need_fault(r: &HmmRange, s: u64, e: u64, cpu: CpuFlags) -> Option<(u64, Need)> {
    if s >= e {
        return None;
    }
    if pte_need_fault(r.default, cpu).any() {
        return Some((s, pte_need_fault(req_at(r, s), cpu)));
    }
    let (a, b, input) = r.page_req?;
    let (lo, hi) = (a.max(s), b.min(e));
    let need = pte_need_fault(input.max(r.default), cpu);
    (lo < hi && need.any()).then_some((lo, need))
}
