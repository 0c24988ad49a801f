//! How a failure leaves the runtime: one line, never the usage text. On stderr as text
//! (`nsbox-runtime: step(path): CODE: message`), as our wire JSON with `--json`, or as runc's JSON
//! log line with `--log-format json`; and with `--log FILE` also appended there as a JSON
//! (`{"level":"error","msg":…,"time":RFC 3339}`, what containerd's shim and podman read) or text
//! (logrus's `time=… level=error msg=…`) line. The words engines match in runc's messages
//! (`container does not exist`, `container not running`) are added where ours say the same.

use std::io::Write;

use nsbox_container::state::now_rfc3339;
use nsbox_core::WireError;

use crate::cli::{Global, LogFormat};

pub struct Reporter {
    json: bool,
    /// Opened (created, appended to) at once, as runc does: `exec` fails, if it does, inside the
    /// container's mount namespace, where the path no longer leads to the caller's file.
    log: Option<std::fs::File>,
    format: LogFormat,
}

/// runc's wording for the conditions our codes name, as engines search for it.
fn runc_words(code: &str) -> Option<&'static str> {
    match code {
        "ERR_NO_SUCH_CONTAINER" => Some("container does not exist"),
        "ERR_NOT_RUNNING" => Some("container not running"),
        _ => None,
    }
}

impl Reporter {
    pub fn new(g: &Global) -> Reporter {
        let log = g.log.as_ref().and_then(|p| std::fs::OpenOptions::new().create(true).append(true).open(p).ok());
        Reporter { json: g.json, log, format: g.log_format }
    }

    /// A failure with its wire form (`None`: a command-line error) and exit code; returns the code.
    pub fn error(&self, text: &str, wire: Option<&WireError>, exit_code: i32) -> i32 {
        let mut msg = text.to_string();
        if let Some(words) = wire.and_then(|w| runc_words(&w.code)) {
            if !msg.contains(words) {
                msg = format!("{msg} ({words})");
            }
        }
        let line = self.line(&msg);
        // Best effort: the error still reaches stderr if the log cannot be written.
        if let Some(mut f) = self.log.as_ref() {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
        if self.json {
            let w = wire.cloned().unwrap_or_else(|| WireError::runtime("parse arguments", None, text));
            let mut v = serde_json::to_value(w).unwrap_or_default();
            v["type"] = "error".into();
            v["exitCode"] = exit_code.into();
            eprintln!("{v}");
        } else if self.format == LogFormat::Json {
            eprintln!("{line}");
        } else {
            eprintln!("nsbox-runtime: {msg}");
        }
        exit_code
    }

    fn line(&self, msg: &str) -> String {
        match self.format {
            LogFormat::Json => serde_json::json!({ "level": "error", "msg": msg, "time": now_rfc3339() }).to_string(),
            LogFormat::Text => format!("time={:?} level=error msg={:?}", now_rfc3339(), msg),
        }
    }

    /// `--debug`: one line naming the command, in the log only.
    pub fn debug(&self, args: &[String]) {
        if let Some(mut f) = self.log.as_ref() {
            let msg = format!("nsbox-runtime {}", args.join(" "));
            let line = match self.format {
                LogFormat::Json => serde_json::json!({ "level": "debug", "msg": msg, "time": now_rfc3339() }).to_string(),
                LogFormat::Text => format!("time={:?} level=debug msg={:?}", now_rfc3339(), msg),
            };
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}
