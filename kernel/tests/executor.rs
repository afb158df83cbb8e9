//! The executor on small hand-written op lists: what the real kernel does
//! and what the observation reads back, op by op.

use mmdiff_core::op::{Op, OpKind, ProcId};
use mmdiff_core::outcome::{Errno, Outcome, Payload, Signal};
use mmdiff_core::{text, Config};
use mmdiff_kernel::view::{Frame, PageState, PageView, View};
use mmdiff_kernel::{observe::observe, Environment, ExecError, Executor, KernelOutcome};

fn ops(text: &str) -> Vec<Op> {
    text::parse(text).expect("the test scenario parses").ops()
}

/// Runs `text` on a fresh executor: each op's outcome and the view after
/// it. `None` (after checking the refusal) where the kernel engine cannot
/// run on this machine.
fn run(text: &str) -> Option<Vec<(KernelOutcome, View)>> {
    let env = mmdiff_kernel::probe();
    let mut exec = match Executor::new(&Config::default(), &env) {
        Ok(e) => e,
        Err(e) => {
            assert!(env.unsupported.is_some(), "executor failed: {e}");
            assert!(matches!(e, ExecError::Unsupported(_)), "{e}");
            return None;
        }
    };
    let mut steps = Vec::new();
    for op in ops(text) {
        let outcome = exec.apply(&op).expect("the executor runs the op");
        let view = observe(&mut exec).expect("the kernel state can be observed");
        steps.push((outcome, view));
    }
    Some(steps)
}

fn done(o: Outcome) -> KernelOutcome {
    KernelOutcome::Done(o)
}

fn data(base: u64, values: &[u64]) -> KernelOutcome {
    done(Outcome::Ok(Payload::Data {
        base,
        values: values.to_vec(),
    }))
}

/// Process `p`'s pages in view `v`.
fn pages(v: &View, p: u8) -> &[PageView] {
    &v.procs
        .iter()
        .find(|x| x.id == ProcId(p))
        .expect("the process exists")
        .pages
}

/// `(folio name, page, mapcount, exclusive)` of a present folio page.
fn folio(pg: &PageView) -> (u64, u32, u64, bool) {
    match &pg.state {
        PageState::Present {
            frame:
                Frame::Folio {
                    folio,
                    page,
                    mapcount,
                    exclusive,
                    ..
                },
            ..
        } => (*folio, *page, *mapcount, *exclusive),
        other => panic!("page {} is not a folio page: {other:?}", pg.page),
    }
}

const W: u64 = 2048; // window 0 starts at absolute page W

#[test]
fn anonymous_writes_read_back_from_fresh_exclusive_pages() {
    let Some(steps) =
        run("mmap p0 m0 anon rw pages=4\nwrite p0 m0[0..4] = index\nread p0 m0[0..4]\n")
    else {
        return;
    };
    assert_eq!(steps[0].0, done(Outcome::OK));
    assert!(
        pages(&steps[0].1, 0).is_empty(),
        "nothing is faulted in by mmap"
    );
    assert_eq!(steps[2].0, data(0, &[0, 1, 2, 3]));
    let pg = pages(&steps[2].1, 0);
    assert_eq!(pg.len(), 4);
    for (i, p) in pg.iter().enumerate() {
        assert_eq!(p.page, W + i as u64);
        assert_eq!(folio(p), (i as u64, 0, 1, true));
        assert_eq!(p.value, Some(i as u64));
    }
    let vma = &steps[2].1.procs[0].vmas;
    assert_eq!((vma.len(), vma[0].start, vma[0].end), (1, W, W + 4));
}

#[test]
fn fork_shares_pages_and_the_first_write_copies_one() {
    let Some(steps) = run(
        "mmap p0 m0 anon rw pages=1\nwrite p0 m0[0] = 1\nfork p0 -> p1\nwrite p1 m0[0] = 2\nread p0 m0[0]\nread p1 m0[0]\n",
    ) else {
        return;
    };
    let after_fork = &steps[2].1;
    assert_eq!(folio(&pages(after_fork, 0)[0]), (0, 0, 2, false));
    assert_eq!(folio(&pages(after_fork, 1)[0]), (0, 0, 2, false));
    let after_cow = &steps[3].1;
    assert_eq!(folio(&pages(after_cow, 0)[0]), (0, 0, 1, true));
    assert_eq!(folio(&pages(after_cow, 1)[0]), (1, 0, 1, true));
    assert_eq!(steps[4].0, data(0, &[1]));
    assert_eq!(steps[5].0, data(0, &[2]));
}

#[test]
fn munmap_punches_a_hole_that_faults() {
    let Some(steps) = run(
        "mmap p0 m0 anon rw pages=4\nwrite p0 m0[0..4] = 7\nmunmap p0 m0[1..3]\nread p0 m0[0..4]\n",
    ) else {
        return;
    };
    let v = &steps[2].1.procs[0];
    let ranges: Vec<(u64, u64)> = v.vmas.iter().map(|x| (x.start, x.end)).collect();
    assert_eq!(ranges, [(W, W + 1), (W + 3, W + 4)]);
    assert_eq!(
        v.pages.iter().map(|p| p.page).collect::<Vec<_>>(),
        [W, W + 3]
    );
    assert_eq!(
        steps[3].0,
        done(Outcome::Signal {
            sig: Signal::Segv,
            page: 1
        })
    );
}

#[test]
fn a_write_to_a_read_only_mapping_is_sigsegv_and_changes_nothing() {
    let Some(steps) = run(
        "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 3\nmprotect p0 m0[0..2] r\nwrite p0 m0[1] = 9\nread p0 m0[0..2]\n",
    ) else {
        return;
    };
    assert_eq!(steps[2].0, done(Outcome::OK));
    assert_eq!(
        steps[3].0,
        done(Outcome::Signal {
            sig: Signal::Segv,
            page: 1
        })
    );
    assert_eq!(steps[3].1, steps[2].1, "the faulting write changed nothing");
    assert_eq!(steps[4].0, data(0, &[3, 3]));
}

#[test]
fn madvise_dontneed_drops_pages_and_they_read_back_as_zero() {
    let Some(steps) = run(
        "mmap p0 m0 anon rw pages=4\nwrite p0 m0[0..4] = 1\nmadvise p0 m0[1..3] dontneed\nread p0 m0[0..4]\n",
    ) else {
        return;
    };
    let kept: Vec<u64> = pages(&steps[2].1, 0).iter().map(|p| p.page).collect();
    assert_eq!(kept, [W, W + 3]);
    assert_eq!(steps[3].0, data(0, &[1, 0, 0, 1]));
    let after = pages(&steps[3].1, 0);
    for p in &after[1..3] {
        assert!(
            matches!(
                p.state,
                PageState::Present {
                    pmd: false,
                    frame: Frame::Zero
                }
            ),
            "a read fault maps the zero page: {p:?}"
        );
        assert_eq!(p.value, None);
    }
}

#[test]
fn clear_soft_dirty_then_write_sets_the_bit_again_where_tracked() {
    let Some(steps) = run(
        "mmap p0 m0 anon rw pages=1\nwrite p0 m0[0] = 1\nclear-soft-dirty p0\nwrite p0 m0[0] = 2\n",
    ) else {
        return;
    };
    assert_eq!(steps[3].0, done(Outcome::OK));
    let sd = |i: usize| pages(&steps[i].1, 0)[0].soft_dirty;
    if mmdiff_kernel::probe().soft_dirty {
        assert_eq!(steps[2].0, done(Outcome::OK));
        assert_eq!(sd(1), Some(true), "a new VMA is soft-dirty");
        assert_eq!(sd(2), Some(false), "clear_refs 4 clears it");
        assert_eq!(sd(3), Some(true), "the write sets it again");
    } else {
        // Without CONFIG_MEM_SOFT_DIRTY clear_refs is not run, and the
        // bits are not observable and are reported as such, not as clean.
        assert!(
            matches!(steps[2].0, KernelOutcome::Skipped { .. }),
            "{:?}",
            steps[2].0
        );
        assert_eq!((sd(1), sd(2), sd(3)), (None, None, None));
    }
    assert_eq!(pages(&steps[3].1, 0)[0].value, Some(2));
}

#[test]
fn a_vmsplice_handle_keeps_the_old_page_after_it_is_replaced() {
    let Some(steps) = run(
        "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = index+10\ngup p0 m0[0..2] get fast -> h0\n\
         madvise p0 m0[0..2] dontneed\nwrite p0 m0[0..2] = 5\ndma-read h0[0..2]\nread p0 m0[0..2]\n\
         release h0\ndma-read h0[0..1]\n",
    ) else {
        return;
    };
    assert_eq!(steps[2].0, done(Outcome::count(2)));
    assert_eq!(
        steps[5].0,
        data(0, &[10, 11]),
        "the device sees the old pages"
    );
    assert_eq!(steps[6].0, data(0, &[5, 5]));
    assert_eq!(steps[7].0, done(Outcome::OK));
    assert_eq!(steps[8].0, done(Outcome::Err(Errno::ENOENT)));
}

#[test]
fn a_madvise_hugepage_write_fault_maps_one_pmd_and_a_read_fault_the_huge_zero_page() {
    let Some(steps) = run(
        "mmap p0 m0 anon rw pages=1024\nmadvise p0 m0[0..1024] hugepage\nwrite p0 m0[0] = 1\nread p0 m0[512]\n",
    ) else {
        return;
    };
    let pg = pages(&steps[3].1, 0);
    assert_eq!(pg.len(), 1024);
    let thp = pg[..512].iter().all(|p| {
        matches!(
            p.state,
            PageState::Present {
                pmd: true,
                frame: Frame::Folio {
                    folio: 0,
                    order: 9,
                    mapcount: 1,
                    exclusive: true,
                    ..
                }
            }
        )
    });
    assert!(thp, "{:?}", &pg[..2]);
    assert!(pg[512..].iter().enumerate().all(|(i, p)| p.state
        == PageState::Present {
            pmd: true,
            frame: Frame::HugeZero { page: i as u32 }
        }));
}

#[test]
fn the_op_language_conventions_are_kept_and_other_ops_are_skipped() {
    let Some(steps) = run(
        "read p1 m0[0]\nmmap p0 m0 anon rw pages=2049\nfork p0 -> p1\nfork p0 -> p1\nexit p1\nread p1 m0[0]\nreclaim\n",
    ) else {
        return;
    };
    assert_eq!(steps[0].0, done(Outcome::Err(Errno::ENOENT)));
    assert_eq!(
        steps[1].0,
        done(Outcome::Err(Errno::EINVAL)),
        "past the window"
    );
    assert_eq!(steps[2].0, done(Outcome::OK));
    assert_eq!(steps[3].0, done(Outcome::Err(Errno::EEXIST)));
    assert_eq!(steps[2].1.procs.len(), 2);
    assert_eq!(steps[4].1.procs.len(), 1, "p1 is gone after exit");
    assert_eq!(steps[5].0, done(Outcome::Err(Errno::ENOENT)));
    assert!(matches!(
        steps[6].0,
        KernelOutcome::Skipped {
            kind: OpKind::Reclaim,
            ..
        }
    ));
}

#[test]
fn dropping_the_executor_leaves_no_process_behind() {
    let env: Environment = mmdiff_kernel::probe();
    let Ok(mut exec) = Executor::new(&Config::default(), &env) else {
        assert!(env.unsupported.is_some());
        return;
    };
    for op in ops("mmap p0 m0 anon rw pages=1\nfork p0 -> p1\nfork p1 -> p2\nexit p0\n") {
        exec.apply(&op).expect("the executor runs the op");
    }
    let pids: Vec<i32> = exec.pids().into_iter().map(|(_, pid)| pid).collect();
    assert_eq!(pids.len(), 2, "p1 and p2 outlive p0");
    drop(exec);
    for pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        assert!(status.is_empty(), "pid {pid} is still there:\n{status}");
    }
}
