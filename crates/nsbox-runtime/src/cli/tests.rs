//! The command line as engines and our callers write it: both flag forms, globals anywhere
//! before the command, one-line errors.

use super::{parse, Cmd, LogFormat};

fn p(line: &str) -> Result<super::Parsed, String> {
    parse(&line.split_whitespace().map(String::from).collect::<Vec<_>>())
}

fn err(line: &str) -> String {
    let e = p(line).err().unwrap_or_else(|| panic!("{line}: parsed"));
    assert!(!e.contains('\n'), "one line: {e}");
    e
}

#[test]
fn containerd_shim_create() {
    let r = p("--root /r --log /b/log.json --log-format json create --bundle /b --pid-file /b/init.pid c1").unwrap();
    assert_eq!(r.global.root.as_deref(), Some(std::path::Path::new("/r")));
    assert_eq!(r.global.log.as_deref(), Some(std::path::Path::new("/b/log.json")));
    assert_eq!(r.global.log_format, LogFormat::Json);
    let Cmd::Create(a) = r.cmd else { panic!("not create") };
    assert_eq!((a.id.as_str(), a.bundle.unwrap().to_str().unwrap(), a.pid_file.unwrap().to_str().unwrap()), ("c1", "/b", "/b/init.pid"));
}

#[test]
fn podman_equals_forms() {
    let r = p("--log-format=json --log=/x/oci-log create --bundle=/b --pid-file=/p --console-socket=/s --preserve-fds=2 c").unwrap();
    assert_eq!(r.global.log_format, LogFormat::Json);
    let Cmd::Create(a) = r.cmd else { panic!("not create") };
    assert_eq!(a.console_socket.unwrap().to_str(), Some("/s"));
    assert_eq!(a.preserve_fds, 2);
    assert!(p("-b").is_err());
}

#[test]
fn create_short_bundle_and_switches() {
    let Cmd::Create(a) = p("create -b /b --no-new-keyring=true c").unwrap().cmd else { panic!() };
    assert!(a.no_new_keyring);
    let Cmd::Create(a) = p("create -b /b --no-new-keyring=false c").unwrap().cmd else { panic!() };
    assert!(!a.no_new_keyring);
    assert!(err("create --no-new-keyring=maybe c").contains("not true or false"));
}

#[test]
fn create_monitor_is_ours() {
    let Cmd::Run(a, Some(d)) = p("create --monitor --config-fd 3 --control-fd 3 --name web --rm c").unwrap().cmd else { panic!() };
    assert_eq!((a.config_fd, a.control_fd, d.name.as_deref(), d.auto_remove, d.create), (Some(3), Some(3), Some("web"), true, true));
    assert!(err("create --name web c").contains("--name needs --monitor"));
    assert!(err("create --monitor --pid-file p c").contains("--pid-file is not supported with --monitor"));
    assert!(err("create --no-pivot c").contains("--no-pivot is not supported"));
}

#[test]
fn run_detach_and_foreground() {
    assert!(matches!(p("run --config-fd 3 --control-fd 3 c").unwrap().cmd, Cmd::Run(_, None)));
    assert!(matches!(p("run -d c").unwrap().cmd, Cmd::Run(_, Some(_))));
    assert!(matches!(p("--root /r --json run --detach=true c").unwrap().cmd, Cmd::Run(_, Some(_))));
}

#[test]
fn globals_and_refusals() {
    assert!(err("--systemd-cgroup create c").contains("no systemd cgroup driver"));
    assert!(p("--systemd-cgroup=false state c").is_ok());
    let r = p("--debug --rootless=auto state c").unwrap();
    assert!(r.global.debug);
    assert_eq!(r.global.rootless.as_deref(), Some("auto"));
    assert_eq!(p("--rootless true state c").unwrap().global.rootless.as_deref(), Some("true"));
    assert_eq!(p("--rootless state c").unwrap().global.rootless.as_deref(), Some("true"));
    assert!(err("--log-format yaml state c").contains("not text or json"));
    assert!(err("--log").contains("--log needs a value"));
    // Our callers put --root and --json after the command, too.
    let r = p("state --root /r --json c").unwrap();
    assert!(r.global.json);
    assert_eq!(r.global.root.as_deref(), Some(std::path::Path::new("/r")));
}

#[test]
fn kill_forms() {
    let k = |l: &str| match p(l).unwrap().cmd {
        Cmd::Kill { container, signal, all } => (container, signal, all),
        _ => panic!("not kill"),
    };
    assert_eq!(k("kill c 15"), ("c".into(), "15".into(), false));
    assert_eq!(k("kill --all c KILL"), ("c".into(), "KILL".into(), true));
    assert_eq!(k("kill -a=true c SIGKILL"), ("c".into(), "SIGKILL".into(), true));
    assert_eq!(k("kill c"), ("c".into(), "TERM".into(), false));
    assert_eq!(k("kill c -9"), ("c".into(), "9".into(), false));
    assert_eq!(k("kill -s HUP c"), ("c".into(), "HUP".into(), false));
    assert_eq!(k("kill c 0"), ("c".into(), "0".into(), false));
    assert!(err("kill").contains("a container is required"));
}

#[test]
fn exec_forms() {
    let e = |l: &str| match p(l).unwrap().cmd {
        Cmd::Exec(a) => a,
        _ => panic!("not exec"),
    };
    let a = e("exec --process /p.json --detach --pid-file /e.pid --tty --console-socket /s c");
    assert_eq!((a.container.as_str(), a.detach, a.tty), ("c", true, true));
    assert_eq!(a.process_file.unwrap().to_str(), Some("/p.json"));
    let a = e("exec -e A=1 --env=B=2 -w /tmp --user=1:2 c sh -c --json");
    assert_eq!(a.env, vec!["A=1", "B=2"]);
    assert_eq!((a.cwd.as_deref(), a.user.as_deref()), (Some("/tmp"), Some("1:2")));
    assert_eq!(a.command, vec!["sh", "-c", "--json"]);
    assert_eq!(e("exec c -- ls -l").command, vec!["ls", "-l"]);
    assert_eq!(e("exec --control-fd 3 c -- ls").control_fd, Some(3));
    assert!(err("exec c").contains("a command is required"));
    assert!(err("exec --process p c ls").contains("the command is in --process"));
    assert!(err("exec --bogus c ls").contains("unknown flag --bogus for exec"));
}

#[test]
fn info_commands() {
    assert!(matches!(p("list -q").unwrap().cmd, Cmd::List { quiet: true, .. }));
    assert!(matches!(p("list --format=json").unwrap().cmd, Cmd::List { ref format, .. } if format == "json"));
    assert!(matches!(p("ps --format json c").unwrap().cmd, Cmd::Ps { json: true, .. }));
    assert!(matches!(p("events --stats c").unwrap().cmd, Cmd::Events { stats: true, .. }));
    let Cmd::Events { interval, .. } = p("events --interval=250ms c").unwrap().cmd else { panic!() };
    assert_eq!(interval, std::time::Duration::from_millis(250));
    assert!(err("events --interval 5x c").contains("not a duration"));
    assert!(matches!(p("features").unwrap().cmd, Cmd::Features));
    assert!(matches!(p("spec --rootless -b /b").unwrap().cmd, Cmd::Spec { rootless: true, .. }));
    assert!(matches!(p("delete -f c").unwrap().cmd, Cmd::Delete(_, true)));
    assert!(matches!(p("delete --force=false c").unwrap().cmd, Cmd::Delete(_, false)));
    assert!(err("update c").contains("--resources"));
    assert!(err("frobnicate").contains("unknown command"));
    assert!(err("").contains("a command is required"));
}
