//! Every OCI action, every operator and the notify listener, on the real kernel, one forked child
//! per case. Needs root.
//!
//!     cargo test -p nsbox-seccomp --features apply
//! (`cargo test --workspace` runs it too: the crate's dev-dependency on itself enables `apply`.)

mod common;

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicI64, Ordering};

use common::*;
use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags, ScmpSyscall};
use nix::sys::signal::Signal;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nsbox_seccomp::filter::{compile, Compiled};
use nsbox_seccomp::listener::{send_listener, ContainerProcessState};
use nsbox_seccomp::profile::parse;

/// A filter from OCI-style JSON.
fn filter(json: &str) -> Compiled {
    let oci: oci_spec::runtime::LinuxSeccomp = serde_json::from_str(json).expect("oci json");
    compile(&oci).expect("compile")
}

/// Allow everything but `getppid`, which gets `action` (+ `extra` fields).
fn on_getppid(action: &str, extra: &str) -> Compiled {
    filter(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["getppid"],"action":"{action}"{extra}}}]}}"#
    ))
}

fn getppid() -> i64 {
    sys(libc::SYS_getppid, [0; 6])
}

#[test]
fn errno_uses_errno_ret_and_defaults_to_eperm() {
    assert_eq!(returns(&on_getppid("SCMP_ACT_ERRNO", r#","errnoRet":77"#), getppid), -77);
    assert_eq!(returns(&on_getppid("SCMP_ACT_ERRNO", ""), getppid), -(libc::EPERM as i64));
    // errnoRet 0: the call "succeeds" with 0 without running.
    assert_eq!(returns(&on_getppid("SCMP_ACT_ERRNO", r#","errnoRet":0"#), getppid), 0);
    // defaultErrnoRet applies to the default action.
    let f = filter(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":78,"syscalls":[{"names":["exit_group","exit","write","getpid"],"action":"SCMP_ACT_ALLOW"}]}"#);
    assert_eq!(returns(&f, getppid), -78);
}

#[test]
fn allow_and_log_run_the_call() {
    let ppid = std::process::id() as i64;
    assert_eq!(returns(&on_getppid("SCMP_ACT_ALLOW", ""), getppid), ppid);
    let log = filter(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_LOG"}]}"#);
    assert_eq!(returns(&log, getppid), ppid);
    // The LOG flag (log every non-allow action) loads too.
    let flagged = filter(r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW","SECCOMP_FILTER_FLAG_TSYNC"],"syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":79}]}"#);
    assert_eq!(returns(&flagged, getppid), -79);
}

/// With no tracer attached, SECCOMP_RET_TRACE makes the call fail with ENOSYS.
#[test]
fn trace_without_tracer_is_enosys() {
    assert_eq!(returns(&on_getppid("SCMP_ACT_TRACE", r#","errnoRet":5"#), getppid), -(libc::ENOSYS as i64));
}

static SIGSYS_SEEN: AtomicI64 = AtomicI64::new(0);

/// Records `si_syscall` of a seccomp SIGSYS (si_code SYS_SECCOMP = 1), or -si_code otherwise.
extern "C" fn on_sigsys(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo; for SIGSYS its union holds struct
    // { void *_call_addr; int _syscall; unsigned _arch; } right after the three leading ints and
    // padding (offset 16 on 64-bit), so _syscall is at byte 24.
    let (code, nr) = unsafe { ((*info).si_code, *(info.cast::<u8>().add(24).cast::<i32>())) };
    SIGSYS_SEEN.store(if code == 1 { nr as i64 } else { -(code as i64) }, Ordering::SeqCst);
}

fn with_sigsys_handler(probe: fn() -> i64) -> i64 {
    // SAFETY: installing a handler that only stores to an atomic.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigsys as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut());
    }
    probe();
    SIGSYS_SEEN.load(Ordering::SeqCst)
}

#[test]
fn trap_sends_sigsys_naming_the_syscall() {
    let got = returns(&on_getppid("SCMP_ACT_TRAP", ""), || with_sigsys_handler(getppid));
    assert_eq!(got, libc::SYS_getppid);
    // Without a handler, SIGSYS ends the process.
    assert_eq!(in_child(&on_getppid("SCMP_ACT_TRAP", ""), getppid), Outcome::Signaled(Signal::SIGSYS));
}

#[test]
fn kill_process_ends_the_process_even_with_a_handler() {
    let out = in_child(&on_getppid("SCMP_ACT_KILL_PROCESS", ""), || with_sigsys_handler(getppid));
    assert_eq!(out, Outcome::Signaled(Signal::SIGSYS));
}

/// KILL_THREAD (and its old name KILL) ends only the calling thread: the main thread joins it and
/// goes on.
#[test]
fn kill_thread_ends_only_the_thread() {
    extern "C" fn thread(_: *mut libc::c_void) -> *mut libc::c_void {
        getppid();
        5 as *mut libc::c_void // never reached
    }
    for action in ["SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL"] {
        let got = returns(&on_getppid(action, ""), || {
            let mut t: libc::pthread_t = 0;
            let mut out: *mut libc::c_void = std::ptr::null_mut();
            // SAFETY: one thread, joined; it is killed inside its getppid.
            unsafe {
                libc::pthread_create(&mut t, std::ptr::null(), thread, std::ptr::null_mut());
                libc::pthread_join(t, &mut out);
            }
            if out as i64 == 5 { -1 } else { 1 }
        });
        assert_eq!(got, 1, "{action}");
        assert_eq!(in_child(&on_getppid(action, ""), getppid), Outcome::Signaled(Signal::SIGSYS), "{action} on the only thread");
    }
}

/// Each operator on argument 0 of getppid (which ignores its arguments, but the filter sees the
/// registers): the rule returns 77 where the comparison holds.
#[test]
fn every_operator_compares_as_documented() {
    let cases = [
        ("SCMP_CMP_NE", 10, 0, [true, false, true]),
        ("SCMP_CMP_LT", 10, 0, [true, false, false]),
        ("SCMP_CMP_LE", 10, 0, [true, true, false]),
        ("SCMP_CMP_EQ", 10, 0, [false, true, false]),
        ("SCMP_CMP_GE", 10, 0, [false, true, true]),
        ("SCMP_CMP_GT", 10, 0, [false, false, true]),
        // (arg & 0b11) == 0b10: 9 = 0b1001 no, 10 = 0b1010 yes, 11 = 0b1011 no.
        ("SCMP_CMP_MASKED_EQ", 3, 2, [false, true, false]),
    ];
    for (op, value, value_two, expect) in cases {
        let f = on_getppid("SCMP_ACT_ERRNO", &format!(r#","errnoRet":77,"args":[{{"index":0,"value":{value},"valueTwo":{value_two},"op":"{op}"}}]"#));
        for (arg, hit) in [9u64, 10, 11].into_iter().zip(expect) {
            let got = returns(&f, || sys(libc::SYS_getppid, [arg, 0, 0, 0, 0, 0]));
            assert_eq!(got == -77, hit, "{op} {value}/{value_two} with {arg}: {got}");
        }
    }
}

#[test]
fn comparisons_use_all_64_bits_and_combine() {
    let big = 0x1_0000_0005u64;
    let f = on_getppid("SCMP_ACT_ERRNO", &format!(r#","errnoRet":77,"args":[{{"index":1,"value":{big},"op":"SCMP_CMP_EQ"}}]"#));
    assert_eq!(returns(&f, || sys(libc::SYS_getppid, [0, big, 0, 0, 0, 0])), -77);
    assert!(returns(&f, || sys(libc::SYS_getppid, [0, 5, 0, 0, 0, 0])) > 0, "only the low half equal");
    // Different arguments: all must hold.
    let and = on_getppid("SCMP_ACT_ERRNO", r#","errnoRet":77,"args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":2,"value":3,"op":"SCMP_CMP_EQ"}]"#);
    assert_eq!(returns(&and, || sys(libc::SYS_getppid, [1, 0, 3, 0, 0, 0])), -77);
    assert!(returns(&and, || sys(libc::SYS_getppid, [1, 0, 4, 0, 0, 0])) > 0);
    // The same argument twice: either may hold.
    let or = on_getppid("SCMP_ACT_ERRNO", r#","errnoRet":77,"args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]"#);
    assert_eq!(returns(&or, || sys(libc::SYS_getppid, [1, 0, 0, 0, 0, 0])), -77);
    assert_eq!(returns(&or, || sys(libc::SYS_getppid, [2, 0, 0, 0, 0, 0])), -77);
    assert!(returns(&or, || sys(libc::SYS_getppid, [3, 0, 0, 0, 0, 0])) > 0);
}

/// NOTIFY: load returns the listener; the child hands it to "the agent" (this test) with
/// send_listener, as the runtime spec's listenerPath describes; the agent checks the container
/// process state, receives the notification through libseccomp and answers it; the child's
/// syscall returns the agent's answer. With TSYNC too, which needs TSYNC_ESRCH next to a listener.
#[test]
fn notify_hands_the_listener_to_the_agent_which_answers() {
    let dir = std::env::temp_dir().join(format!("nsbox-seccomp-notify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("agent.sock");
    let _ = std::fs::remove_file(&sock);
    let agent = UnixListener::bind(&sock).unwrap();
    agent.set_nonblocking(true).unwrap();
    let profile = parse(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"{}","listenerMetadata":"probe=1","flags":["SECCOMP_FILTER_FLAG_TSYNC"],"syscalls":[{{"names":["getppid"],"action":"SCMP_ACT_NOTIFY"}}]}}"#,
        sock.display()
    ))
    .unwrap();
    let oci = oci(&profile, &docker_caps());
    let compiled = compile(&oci).unwrap();
    assert!(compiled.uses_notify());
    let listener_path = oci.listener_path().clone().unwrap();
    let metadata = oci.listener_metadata().clone();

    let (rd, wr) = nix::unistd::pipe().unwrap();
    // SAFETY: the child loads the filter, sends the listener, makes one syscall and `_exit`s.
    let child = match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            let code = (|| {
                let Ok(Some(fd)) = compiled.load() else { return 120 };
                let state = format!(
                    r#"{{"ociVersion":"1.2.0","id":"probe","status":"creating","pid":{},"bundle":"/nonexistent"}}"#,
                    std::process::id()
                );
                if send_listener(fd.as_fd(), &listener_path, metadata.as_deref(), &state).is_err() {
                    return 121;
                }
                drop(fd);
                let v = getppid();
                // SAFETY: writing 8 bytes of a local to the pipe.
                unsafe { libc::write(wr.as_raw_fd(), (&v as *const i64).cast(), 8) };
                0
            })();
            // SAFETY: leaving the child without running the harness's exit work.
            unsafe { libc::_exit(code) };
        }
        nix::unistd::ForkResult::Parent { child } => child,
    };
    drop(wr);

    // The agent: accept (giving up after 10 s if the child died), then one message with the fd.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut conn = loop {
        match agent.accept() {
            Ok((c, _)) => break c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Err(e) => panic!("no connection from the child ({e}); child: {:?}", nix::sys::wait::waitpid(child, Some(nix::sys::wait::WaitPidFlag::WNOHANG))),
        }
    };
    conn.set_nonblocking(false).unwrap();
    let mut buf = vec![0u8; 4096];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let (n, fds) = {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC).unwrap();
        let fds: Vec<RawFd> = msg
            .cmsgs()
            .unwrap()
            .flat_map(|c| match c {
                ControlMessageOwned::ScmRights(f) => f,
                _ => vec![],
            })
            .collect();
        (msg.bytes, fds)
    };
    let mut payload = buf[..n].to_vec();
    conn.read_to_end(&mut payload).unwrap();
    assert_eq!(fds.len(), 1, "exactly one fd with the first message");
    // SAFETY: SCM_RIGHTS just installed this fd in our table; nothing else owns it.
    let listener = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    let state: ContainerProcessState = serde_json::from_slice(&payload).unwrap();
    assert_eq!(state.fds, vec!["seccompFd".to_string()]);
    assert_eq!(state.pid, child.as_raw());
    assert_eq!(state.metadata.as_deref(), Some("probe=1"));
    assert_eq!(state.oci_version, "1.2.0");
    assert_eq!(state.state["id"], "probe");

    let req = ScmpNotifReq::receive(listener.as_raw_fd()).unwrap();
    assert_eq!(req.data.syscall, ScmpSyscall::from_name("getppid").unwrap());
    assert_eq!(req.pid as i32, child.as_raw());
    ScmpNotifResp::new_val(req.id, 4242, ScmpNotifRespFlags::empty()).respond(listener.as_raw_fd()).unwrap();

    let mut out = [0u8; 8];
    assert_eq!(nix::unistd::read(&rd, &mut out).unwrap(), 8);
    assert_eq!(i64::from_ne_bytes(out), 4242, "the syscall returned the agent's answer");
    assert_eq!(nix::sys::wait::waitpid(child, None).unwrap(), nix::sys::wait::WaitStatus::Exited(child, 0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn notify_cannot_be_the_default_action() {
    let oci: oci_spec::runtime::LinuxSeccomp = serde_json::from_str(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#).unwrap();
    let e = compile(&oci).unwrap_err();
    assert!(e.to_string().starts_with("defaultAction: SCMP_ACT_NOTIFY cannot be the default action"), "{e}");
}

#[test]
fn a_program_read_back_from_bytes_filters_the_same() {
    let oci: oci_spec::runtime::LinuxSeccomp = serde_json::from_str(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":42}]}"#,
    )
    .unwrap();
    let compiled = compile(&oci).expect("compile");
    let bytes = compiled.program_bytes();
    assert_eq!(bytes.len(), compiled.instructions() * 8);
    let again = Compiled::from_program(&oci, &bytes).expect("from_program");
    assert_eq!(again.program_bytes(), bytes);
    assert_eq!(returns(&again, getppid), -42);
    // Not whole instructions, empty, or over the kernel's limit: refused before any load.
    for bad in [&bytes[..bytes.len() - 3], &[][..], &vec![0u8; 8 * 4097][..]] {
        let e = Compiled::from_program(&oci, bad).unwrap_err();
        assert!(e.to_string().starts_with("filter:") || e.to_string().starts_with("syscalls:"), "{e}");
    }
}
