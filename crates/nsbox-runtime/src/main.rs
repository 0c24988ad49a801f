//! nsbox-runtime: a small, single-threaded OCI runtime. The Node library spawns it to create
//! containers, because namespaces cannot safely be entered from a multithreaded process. This
//! crate is the executable only: usage, argument parsing (args.rs) and dispatch to nsbox-container
//! (the container and the OCI commands) and nsbox-monitor (detached containers, start, attach).

mod args;

use args::{Cmd, Parsed};
use nsbox_container::ops::ExecArgs;
use nsbox_container::spec::RunArgs;
use nsbox_container::control::Control;
use nsbox_container::ops;
use nsbox_container::sealed;
use nsbox_container::state::Root;
use nsbox_monitor::{attach, created, detach, MonitorError};

const USAGE: &str = "usage: nsbox-runtime [--root DIR] [--json] COMMAND ...
  run [--bundle DIR] [--config-fd N --control-fd N] [--no-new-keyring] [-d|--detach [--name NAME] [--rm] [-i] [--log-max-size BYTES]] ID
  create [--bundle DIR] [--config-fd N --control-fd N] [--no-new-keyring] [--name NAME] [--rm] [-i] [--log-max-size BYTES] ID
  start [-a|--attach] CONTAINER
  exec [-t] [-i] [-e K=V]... [-w DIR] [-u UID[:GID]] [--no-new-keyring] [--control-fd N] CONTAINER [--] COMMAND [ARG...]
  kill CONTAINER [SIGNAL]        state CONTAINER        list        delete [-f|--force] CONTAINER
  pause CONTAINER                resume CONTAINER
  attach [--no-stdin] CONTAINER
  update --resources FILE|- CONTAINER   (linux.resources JSON, as runc's)
  --version

Runs an OCI bundle (config.json per the runtime-spec) like `crun run`; with --detach a monitor
process of ours owns the container (create: held before its command until `start`), whose state lives under --root (NSBOX_ROOT; default
/run/nsbox as root, $XDG_RUNTIME_DIR/nsbox otherwise). CONTAINER: an id, a name or a unique id
prefix. With --control-fd the caller gets length-prefixed JSON frames (docs/protocol.md); with
--json errors on stderr are one JSON object. run, create and exec first re-execute the runtime from
a copy no container can change (NSBOX_SEAL=bind|memfd picks how) with only NSBOX_ROOT, XDG_RUNTIME_DIR,
TMPDIR, PATH, NSBOX_NFT* and NSBOX_SEAL left of the caller's environment.
Exit status: the container's (or exec'd command's); 125 runtime error; 126 cannot execute; 127 not found.";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(dispatch(&args));
}

fn dispatch(args: &[String]) -> i32 {
    let parsed = match args::parse(args) {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("nsbox-runtime: {msg}\n{USAGE}");
            return 125;
        }
    };
    let Parsed { root, json, cmd } = parsed;
    let fail = |e: MonitorError| -> i32 {
        if json {
            let mut v = serde_json::to_value(e.to_wire()).unwrap_or_default();
            v["type"] = "error".into();
            v["exitCode"] = e.exit_code().into();
            eprintln!("{v}");
        } else {
            eprintln!("nsbox-runtime: {e}");
        }
        e.exit_code()
    };
    // Before anything touches a container: from here on we run from a copy no container can change.
    if let Cmd::Run(RunArgs { control_fd, .. }, _) | Cmd::Exec(ExecArgs { control_fd, .. }) = &cmd {
        if let Err(e) = sealed::ensure() {
            return seal_failed(&e, *control_fd, json);
        }
    }
    let r = Root::resolve(root.as_deref());
    match cmd {
        Cmd::Version => {
            println!("nsbox-runtime version {}\nspec: 1.2.0", env!("CARGO_PKG_VERSION"));
            0
        }
        Cmd::Help => {
            println!("{USAGE}");
            0
        }
        Cmd::Run(mut a, None) => {
            a.root = Some(r.dir);
            ops::run(a)
        }
        Cmd::Run(mut a, Some(mut d)) => {
            a.root = Some(r.dir.clone());
            d.root = Some(r.dir);
            detach::run(a, d)
        }
        Cmd::Exec(mut a) => {
            a.root = Some(r.dir);
            ops::exec(a)
        }
        Cmd::Start(c, attach) => created::start(&r, &c, attach).unwrap_or_else(fail),
        Cmd::Pause(c) => ops::pause(&r, &c).map(|_| 0).unwrap_or_else(|e| fail(e.into())),
        Cmd::Resume(c) => ops::resume(&r, &c).map(|_| 0).unwrap_or_else(|e| fail(e.into())),
        Cmd::Kill(c, sig) => ops::kill(&r, &c, &sig).map(|_| 0).unwrap_or_else(|e| fail(e.into())),
        Cmd::Delete(c, force) => ops::delete(&r, &c, force).map(|_| 0).unwrap_or_else(|e| fail(e.into())),
        Cmd::State(c) => match ops::state(&r, &c) {
            Ok(s) => {
                println!("{s}");
                0
            }
            Err(e) => fail(e.into()),
        },
        Cmd::List => {
            print!("{}", ops::list(&r));
            0
        }
        Cmd::Attach(c, stdin) => attach::attach(Some(&r.dir), &c, stdin).unwrap_or_else(fail),
        Cmd::Update(c, file) => match read_resources(file.as_deref()) {
            Ok(res) => ops::update(&r, &c, &res).map(|_| 0).unwrap_or_else(|e| fail(e.into())),
            Err(e) => fail(e.into()),
        },
    }
}

/// `update --resources F|-`: runc's linux.resources JSON, from a file or stdin.
fn read_resources(file: Option<&str>) -> Result<oci_spec::runtime::LinuxResources, nsbox_container::spec::SpecError> {
    use std::io::Read;
    let bad = |m: String| nsbox_container::spec::SpecError::new("update --resources", m);
    let text = match file {
        None => return Err(bad("--resources FILE (or - for stdin) is required".into())),
        Some("-") => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(|e| bad(format!("read stdin: {e}")))?;
            s
        }
        Some(f) => std::fs::read_to_string(f).map_err(|e| bad(format!("read {f}: {e}")))?,
    };
    serde_json::from_str(&text).map_err(|e| bad(format!("not linux.resources JSON: {e}")))
}

/// The sealed re-exec failed: reported like any start failure (control socket, --json or text).
fn seal_failed(e: &sealed::SealError, control_fd: Option<i32>, json: bool) -> i32 {
    let wire = e.to_wire();
    match control_fd.map(Control::from_fd) {
        Some(Ok(mut c)) => c.error(&wire, 125),
        _ if json => {
            let mut v = serde_json::to_value(&wire).unwrap_or_default();
            v["type"] = "error".into();
            v["exitCode"] = 125.into();
            eprintln!("{v}");
        }
        _ => eprintln!("nsbox-runtime: {e}"),
    }
    125
}
