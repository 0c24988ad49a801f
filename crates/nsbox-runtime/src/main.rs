//! nsbox-runtime: a small, single-threaded OCI runtime. Engines (podman's conmon, containerd's
//! shim) drive it with runc's command line and process model; the Node library spawns it to
//! create containers (namespaces cannot safely be entered from a multithreaded process). This
//! crate is the executable only: usage, argument parsing (cli/), error reporting (report.rs) and
//! dispatch to nsbox-container (the container and the OCI commands) and nsbox-monitor (our
//! monitor: detached containers, start, attach).

mod cli;
mod report;
mod store_helper;

use cli::{Cmd, Parsed};
use nsbox_container::control::Control;
use nsbox_container::ops;
use nsbox_container::sealed;
use nsbox_container::state::Root;
use nsbox_container::ContainerError;
use nsbox_monitor::{attach, created, detach, MonitorError};
use report::Reporter;

const USAGE: &str = "usage: nsbox-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--rootless[=true|false|auto]] [--json] COMMAND ...
  create [-b|--bundle DIR] [--pid-file F] [--console-socket S] [--preserve-fds N] [--no-new-keyring] ID
  create --monitor [--bundle DIR] [--config-fd N --control-fd N] [--name NAME] [--rm] [-i] [--log-max-size BYTES] [--die-with PID] ID
  start [-a|--attach] ID            state ID           delete [-f|--force] ID
  kill [-a|--all] ID [SIGNAL]       pause ID           resume ID
  exec [--process F] [-d|--detach] [--pid-file F] [-t|--tty] [--console-socket S] [--preserve-fds N]
       [-e K=V]... [-w|--cwd DIR] [-u UID[:GID]] [--control-fd N] ID [--] [COMMAND [ARG...]]
  run [--bundle DIR] [--config-fd N --control-fd N] [-d|--detach [--name NAME] [--rm] [-i] [--log-max-size BYTES] [--die-with PID]] ID
  ps [--format table|json] ID       events [--stats] [--interval 5s] ID
  update --resources FILE|- ID      list [-q] [--format table|json]
  features                          spec [-b|--bundle DIR] [--rootless]
  attach [--no-stdin] ID            --version
  net-helper CONFIG_JSON            (ours: keeps a rootless network helper for a container's lifetime)
  net-holder CONFIG_JSON            (ours: holds a rootless user's network namespace for its networks)
  rootless-net OP CONFIG_JSON       (ours: create|ls|inspect|rm|prune|attach|detach|holder, in that namespace)
  net-inside PID                    (ours: the links, addresses and routes of PID's network namespace, JSON)
  unpack-layer --store DIR --blob DIGEST --compression none|gzip|zstd
  store-remove --store DIR PATH     (ours: a rootless image store's work in a user namespace with its maps)
  populate-volume --store DIR --target PATH --dest DIR LAYER...

runc's command line and process model: `create` leaves the container's process waiting for `start`
on an exec fifo and exits (the caller reaps it; its stdio are the container's, or with
process.terminal the pty master goes to --console-socket); `exec --detach` likewise. Our own
callers use `run` (foreground), `run --detach` and `create --monitor`, where a monitor process of
ours owns the container. State lives under --root (NSBOX_ROOT; default /run/nsbox as root,
$XDG_RUNTIME_DIR/nsbox otherwise). With --control-fd the caller gets length-prefixed JSON frames
(docs/protocol.md); with --json errors on stderr are one JSON object; with --log errors are also
appended to FILE (--log-format json: {\"level\",\"msg\",\"time\"} lines). run, create and exec first
re-execute the runtime from a copy no container can change (NSBOX_SEAL=bind|memfd picks how) with
only NSBOX_ROOT, XDG_RUNTIME_DIR, TMPDIR, PATH, NSBOX_NFT* and NSBOX_SEAL left of the environment.
Exit status: the container's (or exec'd command's); 125 runtime error; 126 cannot execute; 127 not found.";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The rootless network helper's keeper (nsbox-net's rootless module): started by the TS
    // library, never by an engine; it answers on stdout, not through the runtime's reporting.
    if let [cmd, config] = args.as_slice() {
        if cmd == "net-helper" {
            std::process::exit(nsbox_net::rootless::keeper::run(config));
        }
        // Rootless user-defined networks: the user's holder, and operations inside its namespaces.
        if cmd == "net-holder" {
            // The user's subordinate ranges as a rootless image store maps them (same rule).
            let m = nsbox_image::store::idmap::IdMaps::of_host(std::path::Path::new("/etc/subuid"), std::path::Path::new("/etc/subgid"));
            let maps = nsbox_net::rootless::holder::HolderMaps { uid_map: m.uid_map, gid_map: m.gid_map };
            std::process::exit(nsbox_net::rootless::holder::run(config, &maps));
        }
        // Read-only, for inspect: joins the container's user and network namespaces (which only a
        // single-threaded process may), so it is ours and not the addon's.
        if cmd == "net-inside" {
            std::process::exit(nsbox_net::rootless::inside::run(config));
        }
    }
    if let [cmd, op, config] = args.as_slice() {
        if cmd == "rootless-net" {
            std::process::exit(nsbox_net::rootless::bridge::run(op, config));
        }
    }
    // The rootless image store's helpers (store_helper.rs), likewise ours only.
    if let Some(cmd) = args.first().filter(|c| ["unpack-layer", "store-remove", "populate-volume"].contains(&c.as_str())) {
        std::process::exit(store_helper::run(cmd, &args[1..]));
    }
    std::process::exit(dispatch(&args));
}

fn dispatch(args: &[String]) -> i32 {
    let parsed = match cli::parse(args) {
        Ok(p) => p,
        Err(msg) => {
            // The log flags may still be readable even though the rest is not.
            let global = cli::global::parse(args).map(|(g, _)| g).unwrap_or_default();
            return Reporter::new(&global).error(&msg, None, 125);
        }
    };
    let Parsed { global, cmd } = parsed;
    let rep = Reporter::new(&global);
    if global.debug {
        rep.debug(args);
    }
    let fail = |e: ContainerError| rep.error(&e.to_string(), Some(&e.to_wire()), e.exit_code());
    let fail_m = |e: MonitorError| rep.error(&e.to_string(), Some(&e.to_wire()), e.exit_code());
    // Before anything touches a container: from here on we run from a copy no container can change.
    let control_fd = match &cmd {
        Cmd::Run(a, _) => Some(a.control_fd),
        Cmd::Exec(a) => Some(a.control_fd),
        Cmd::Create(_) => Some(None),
        _ => None,
    };
    if let Some(control_fd) = control_fd {
        if let Err(e) = sealed::ensure() {
            return seal_failed(&e, control_fd, &rep);
        }
    }
    let r = Root::resolve(global.root.as_deref());
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
        Cmd::Create(mut a) => {
            a.root = r.dir;
            ops::create(a).map(|_| 0).unwrap_or_else(fail)
        }
        Cmd::Exec(mut a) => {
            a.root = Some(r.dir);
            if a.control_fd.is_some() {
                ops::exec(a)
            } else {
                ops::exec_plain(&a).unwrap_or_else(fail)
            }
        }
        Cmd::Start(c, attach) if !attach && ops::is_oci(&r, &c) => ops::start(&r, &c).map(|_| 0).unwrap_or_else(fail),
        Cmd::Start(c, attach) => created::start(&r, &c, attach).unwrap_or_else(fail_m),
        Cmd::Pause(c) => ops::pause(&r, &c).map(|_| 0).unwrap_or_else(&fail),
        Cmd::Resume(c) => ops::resume(&r, &c).map(|_| 0).unwrap_or_else(&fail),
        Cmd::Kill { container, signal, all } => ops::kill(&r, &container, &signal, all).map(|_| 0).unwrap_or_else(&fail),
        Cmd::Delete(c, force) => ops::delete(&r, &c, force).map(|_| 0).unwrap_or_else(&fail),
        Cmd::State(c) => print_or(ops::state(&r, &c).map(|s| format!("{s}\n")), fail),
        Cmd::List { format, quiet } => {
            print!("{}", ops::list(&r, &format, quiet));
            0
        }
        Cmd::Ps { container, json } => print_or(ops::ps(&r, &container, json), fail),
        Cmd::Events { container, stats, interval } => {
            let emit = |line: &str| {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            };
            ops::events(&r, &container, stats, interval, emit).map(|_| 0).unwrap_or_else(fail)
        }
        Cmd::Update { container, resources } => match nsbox_container::spec::unmodelled::parse_str(&resources, "update --resources", "linux.resources.") {
            Ok(res) => ops::update(&r, &container, &res).map(|_| 0).unwrap_or_else(fail),
            Err(e) => fail(e.into()),
        },
        Cmd::Features => {
            println!("{}", serde_json::to_string_pretty(&ops::features()).unwrap_or_default());
            0
        }
        Cmd::Spec { bundle, rootless } => ops::write_spec(&bundle, rootless).map(|_| 0).unwrap_or_else(fail),
        Cmd::Attach(c, stdin) => attach::attach(Some(&r.dir), &c, stdin).unwrap_or_else(fail_m),
    }
}

fn print_or(r: nsbox_container::Result<String>, fail: impl Fn(ContainerError) -> i32) -> i32 {
    match r {
        Ok(s) => {
            print!("{s}");
            0
        }
        Err(e) => fail(e),
    }
}

/// The sealed re-exec failed: reported like any start failure (control socket, or as set by the flags).
fn seal_failed(e: &sealed::SealError, control_fd: Option<i32>, rep: &Reporter) -> i32 {
    match control_fd.map(Control::from_fd) {
        Some(Ok(mut c)) => {
            c.error(&e.to_wire(), 125);
            125
        }
        _ => rep.error(&e.to_string(), Some(&e.to_wire()), 125),
    }
}
