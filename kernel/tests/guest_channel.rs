//! The guest channel is transparent: a comparison through a served
//! channel (as with a qemu guest, here a thread on this machine) reports
//! exactly what the same comparison on this machine's kernel reports.

#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::io::BufReader;
use std::os::unix::net::UnixStream;

use mmdiff_core::{text, Config};
use mmdiff_kernel::guest::{serve, GuestKernel, Served};
use mmdiff_kernel::{compare, compare_on, Options};

fn ops(t: &str) -> Vec<mmdiff_core::Op> {
    text::parse(t).expect("test scenario parses").ops()
}

const SCENARIOS: [&str; 3] = [
    // Fork, COW and a skipped pin.
    "mmap p0 m0 anon rw pages=2\nwrite p0 m0[0..2] = index\nfork p0 -> p1\n\
     gup p0 m0[0] pin write longterm -> h0\nwrite p1 m0[1] = 9\nread p0 m0[0..2]\nexit p1\n",
    // A THP, its split by mprotect, and a file mapping.
    "mmap p0 m1 anon rw pages=512\nmadvise p0 m1[0..512] hugepage\nwrite p0 m1[0..512] = index\n\
     mprotect p0 m1[1..2] r\nfile f0 tmpfs pages=2\nmmap p0 m2 file-shared f0 rw pages=2\n\
     write p0 m2[0] = 5\n",
    // An op that fails, and a SIGSEGV.
    "mmap p0 m0 anon r pages=1\nread p0 m0[0]\nwrite p0 m0[0] = 1\nmunmap p0 m0[0..1]\nmunmap p0 m0[0..1]\n",
];

#[test]
fn a_comparison_through_the_channel_equals_the_local_one() {
    let env = mmdiff_kernel::probe();
    if env.unsupported.is_some() {
        return;
    }
    let (host, guest) = UnixStream::pair().expect("socketpair");
    let served_env = env.clone();
    let server = std::thread::spawn(move || {
        let mut input = BufReader::new(guest.try_clone().expect("clone"));
        let mut output = guest;
        serve(&mut input, &mut output, &served_env)
    });
    let mut kernel =
        GuestKernel::connect(Box::new(host.try_clone().expect("clone")), Box::new(host))
            .expect("the server greets");
    assert_eq!(kernel.version, env!("CARGO_PKG_VERSION"));
    for t in SCENARIOS {
        let ops = ops(t);
        let local = compare(&env, &Config::default(), &ops, &Options::default()).expect("runs");
        let remote =
            compare_on(&mut kernel, &Config::default(), &ops, &Options::default()).expect("runs");
        assert_eq!(local, remote, "{t}");
        assert!(remote.agrees(), "{}", remote.render());
        assert!(remote.observations > 0);
    }
    drop(kernel);
    assert_eq!(
        server.join().expect("no panic").expect("serves"),
        Served::Closed
    );
}

#[test]
fn a_guest_that_stops_answering_fails_the_run_and_every_later_request() {
    use mmdiff_kernel::guest::protocol::{send, Reply, GREETING};
    let (host, guest) = UnixStream::pair().expect("socketpair");
    // Greets, then reads requests and never answers: a hung guest.
    let silent = std::thread::spawn(move || {
        let mut output = guest.try_clone().expect("clone");
        let hello = Reply::Hello {
            greeting: GREETING.into(),
            version: "silent".into(),
            env: Box::default(),
        };
        send(&mut output, &hello).expect("greets");
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut &guest, &mut sink);
    });
    host.set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .expect("timeout");
    let mut kernel =
        GuestKernel::connect(Box::new(host.try_clone().expect("clone")), Box::new(host))
            .expect("the silent guest greets");
    let ops = ops("mmap p0 m0 anon rw pages=1\n");
    let err = compare_on(&mut kernel, &Config::default(), &ops, &Options::default())
        .expect_err("no answer");
    assert!(matches!(err, mmdiff_kernel::ExecError::Guest(_)), "{err}");
    assert!(err.to_string().contains("the guest hangs"), "{err}");
    assert!(kernel.broken().is_some_and(|why| why.contains("hangs")));
    // Later requests fail at once with the first failure.
    let again = compare_on(&mut kernel, &Config::default(), &ops, &Options::default())
        .expect_err("still broken");
    assert!(again.to_string().contains("unusable since"), "{again}");
    drop(kernel);
    silent.join().expect("no panic");
}
