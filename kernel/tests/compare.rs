//! `compare` end to end: agreement, the report's counts, the two
//! policies for ops the kernel cannot run, and a divergence report.

use mmdiff_core::op::OpKind;
use mmdiff_core::{text, Config};
use mmdiff_kernel::{compare, DivergenceKind, Environment, Explained, Options, Unexpressible};

fn env() -> Option<Environment> {
    let env = mmdiff_kernel::probe();
    if env.unsupported.is_some() {
        let r = compare(&env, &Config::default(), &[], &Options::default());
        assert!(r.is_err(), "an unsupported machine must refuse");
        return None;
    }
    Some(env)
}

fn ops(t: &str) -> Vec<mmdiff_core::Op> {
    text::parse(t).expect("test scenario parses").ops()
}

const COW: &str = "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = index\nfork p0 -> p1\n\
                   gup p0 m0[0] pin write longterm -> h0\nwrite p1 m0[1] = 9\nread p0 m0[0..2]\nexit p1\n";

#[test]
fn the_oracle_and_the_kernel_agree_on_fork_and_cow_and_skips_are_counted() {
    let Some(env) = env() else { return };
    let r = compare(&env, &Config::default(), &ops(COW), &Options::default()).expect("runs");
    assert!(r.agrees(), "{}", r.render());
    assert!(!r.complete());
    assert_eq!(r.ops_total, 7);
    assert_eq!(r.ops_run, 6);
    assert_eq!(r.skipped.get(&OpKind::Gup).map(|s| s.0), Some(1));
    // Every comparison looked at every mapped page: 2 pages after the
    // write, 4 while p1 lives (after fork, write, read), 2 after exit.
    assert_eq!(r.observations, 2 + 4 + 4 + 4 + 2);
    assert_eq!(r.config.swap_slots, env.swap_pages);
}

#[test]
fn stop_compares_only_the_prefix_before_the_first_unexpressible_op() {
    let Some(env) = env() else { return };
    let options = Options {
        unexpressible: Unexpressible::Stop,
        ..Options::default()
    };
    let r = compare(&env, &Config::default(), &ops(COW), &options).expect("runs");
    assert!(r.agrees(), "{}", r.render());
    assert_eq!((r.ops_run, r.stopped_before), (3, Some(3)));
}

#[test]
fn a_disagreement_names_the_op_and_shows_both_views() {
    let Some(env) = env() else { return };
    // An oracle told the machine has one page of memory runs out at the
    // second write fault; the real machine does not.
    let tiny = Environment {
        mem_pages: 1,
        ..env.clone()
    };
    let t = "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = 1\nread p0 m0[0..2]\n";
    let r = compare(&tiny, &Config::default(), &ops(t), &Options::default()).expect("runs");
    let d = r
        .divergence
        .as_ref()
        .expect("the oracle runs out of memory");
    assert_eq!(d.index, Some(1));
    assert_eq!(d.kind, DivergenceKind::Outcome);
    assert_eq!(d.signature(), "write/kernel-outcome");
    assert_eq!(r.ops_run, 2, "the comparison stops at the divergent op");
    assert!(
        d.diff.contains("--- oracle") && d.diff.contains("+++ kernel"),
        "{}",
        d.diff
    );
    let text = r.render();
    assert!(
        text.contains("op #1 `write p0 m0[0..2] = 1`: outcomes differ"),
        "{text}"
    );
    assert!(
        text.contains("oracle: OOM@1") && text.contains("kernel: ok"),
        "{text}"
    );
    assert_ne!(d.oracle_view, d.kernel_view);
}

#[test]
fn a_multi_vma_mremap_agrees_with_the_kernel() {
    let Some(env) = env() else { return };
    let t =
        "mmap p0 m0 anon rw pages=4\nmmap p0 m0 anon r pages=2 at=6\nwrite p0 m0[0..4] = index\n\
             mremap p0 m0[1..10] -> m1[0]\nread p0 m1[0..3]\n";
    let r = compare(&env, &Config::default(), &ops(t), &Options::default()).expect("runs");
    assert!(r.agrees(), "{}", r.render());
    assert!(r.complete());
}

#[test]
fn known_kernel_differences_are_counted_not_reported() {
    let Some(env) = env() else { return };
    // After fork, p1's write splits its PMD; p0's PMD still maps page 3
    // alone while page 0 is shared: pagemap shows page 0's bit for both.
    let thp = "mmap p0 m0 anon rw pages=512\nmadvise p0 m0[0..512] hugepage\n\
               write p0 m0[0..512] = index\nfork p0 -> p1\nwrite p1 m0[3] = 99\n";
    let r = compare(&env, &Config::default(), &ops(thp), &Options::default()).expect("runs");
    assert!(r.agrees(), "{}", r.render());
    let pmd = r.explained.get(&Explained::PmdExclusiveFirstPage).copied();
    if mmdiff_kernel::explained::pmd_exclusive_from_first_page(&env.kernel_release) {
        assert_eq!(pmd, Some(1), "{}", r.render());
        assert!(r.render().contains("explained pmd-exclusive×1"));
    } else {
        assert_eq!(pmd, None);
    }
    // A read of a private file mapping whose neighbour page is cached.
    let file =
        "file f0 tmpfs pages=2\nmmap p0 m0 file-shared f0 rw pages=2\nwrite p0 m0[0..2] = 4\n\
                mmap p0 m1 file-private f0 rw pages=2\nread p0 m1[0]\nread p0 m1[1]\n";
    let r = compare(&env, &Config::default(), &ops(file), &Options::default()).expect("runs");
    assert!(r.agrees(), "{}", r.render());
    if env.fault_around() {
        // m1[1] is mapped by fault-around after the first read only; the
        // second read maps it in the oracle too.
        assert_eq!(r.explained.get(&Explained::FaultAround), Some(&1));
    }
}

#[test]
fn a_vma_boundary_only_the_kernel_has_ends_the_comparison() {
    let Some(env) = env() else { return };
    // The moved VMA keeps its old page offset, so the kernel does not
    // merge it with the VMA it lands in; the models do.
    let t = "mmap p0 m6 anon rw pages=56 at=383\nwrite p0 m6[409] = 37\n\
             mmap p0 m3 anon rw pages=577 at=10\nmremap p0 m6[383..439] -> m3[527]\n\
             read p0 m3[553]\n";
    let r = compare(&env, &Config::default(), &ops(t), &Options::default()).expect("runs");
    assert!(r.agrees(), "{}", r.render());
    assert_eq!(
        r.ended,
        Some((3, Explained::AnonVmaMerge)),
        "{}",
        r.render()
    );
    assert_eq!(r.ops_run, 4);
    assert!(!r.complete());
    assert!(r.render().contains("ended after op #3: anon-vma-merge"));
}

#[test]
fn an_empty_page_table_only_the_kernel_keeps_ends_the_comparison() {
    let Some(env) = env() else { return };
    // MADV_DONTNEED of part of a block empties it; the kernel keeps the
    // PTE table, so the read maps zero-page PTEs where the models, with
    // no table, map the huge zero page.
    let partial = "mmap p0 m4 anon rw pages=512\nwrite p0 m4[304..321] = index+30\n\
                   madvise p0 m4[0..512] hugepage\nmadvise p0 m4[304..321] dontneed\n\
                   read p0 m4[0..512]\n";
    let r = compare(&env, &Config::default(), &ops(partial), &Options::default()).expect("runs");
    assert!(r.agrees(), "{}", r.render());
    assert_eq!(
        r.ended,
        Some((3, Explained::EmptyPageTable)),
        "{}",
        r.render()
    );
    // The same zap over the whole block reclaims the table
    // (CONFIG_PT_RECLAIM) or the block was never split: both sides map a
    // PMD and the comparison goes to the end.
    let whole = "mmap p0 m4 anon rw pages=512\nwrite p0 m4[304..321] = index+30\n\
                 madvise p0 m4[0..512] hugepage\nmadvise p0 m4[0..512] dontneed\n\
                 read p0 m4[0..512]\n";
    let r = compare(&env, &Config::default(), &ops(whole), &Options::default()).expect("runs");
    if env.pt_reclaim {
        assert!(r.agrees(), "{}", r.render());
        assert!(r.complete(), "{}", r.render());
    }
}
