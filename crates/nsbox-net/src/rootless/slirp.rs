//! slirp4netns publishes ports only through its API socket (`--api-socket`): one JSON request per
//! connection, `add_hostfwd`, answered with `{"return": {...}}` or `{"error": {...}}`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde_json::json;

use super::{io, Port, RootlessError};

pub fn add_ports(sock: &Path, ports: &[Port]) -> Result<(), RootlessError> {
    for p in ports {
        let req = json!({ "execute": "add_hostfwd", "arguments": {
            "proto": p.protocol, "host_addr": p.host_ip.as_deref().unwrap_or("0.0.0.0"),
            "host_port": p.host_port, "guest_port": p.container_port } });
        let mut s = UnixStream::connect(sock).map_err(io("connect", sock))?;
        s.write_all(req.to_string().as_bytes()).map_err(io("write", sock))?;
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut answer = String::new();
        s.read_to_string(&mut answer).map_err(io("read", sock))?;
        let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
        if v.get("return").is_none() {
            let why = v.pointer("/error/desc").and_then(|d| d.as_str()).unwrap_or(answer.trim());
            return Err(RootlessError::Helper {
                op: "publish port",
                path: sock.to_path_buf(),
                detail: format!("{}:{} -> {}/{}: {why}", p.host_ip.as_deref().unwrap_or("0.0.0.0"), p.host_port, p.container_port, p.protocol),
            });
        }
    }
    Ok(())
}
