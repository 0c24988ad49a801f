//! Length-prefixed JSON frames on the control socket (see docs/protocol.md).

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

use crate::WireError;

/// Frames larger than this are a protocol error, not an allocation.
pub const MAX_FRAME: u32 = 16 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ToRuntime {
    Config { spec: serde_json::Value },
    Kill { signal: i32 },
    Start,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FromRuntime {
    Created { id: String, pid: i32 },
    Started { id: String, pid: i32 },
    #[serde(rename_all = "camelCase")]
    Error {
        #[serde(flatten)]
        error: WireError,
        exit_code: i32,
    },
    #[serde(rename_all = "camelCase")]
    Exited { exit_code: i32, signal: Option<String> },
}

pub fn write_frame<W: Write, T: Serialize>(w: &mut W, msg: &T) -> io::Result<()> {
    let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
    let mut buf = Vec::with_capacity(body.len() + 4);
    buf.extend_from_slice(&(body.len() as u32).to_be_bytes());
    buf.extend_from_slice(&body);
    w.write_all(&buf)
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub fn read_frame<R: Read, T: for<'de> Deserialize<'de>>(r: &mut R) -> io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len);
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame of {len} bytes is too large")));
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body)?;
    serde_json::from_slice(&body).map(Some).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = Vec::new();
        write_frame(&mut buf, &FromRuntime::Started { id: "c1".into(), pid: 42 }).unwrap();
        let err = WireError::runtime("clone3", None, "boom");
        write_frame(&mut buf, &FromRuntime::Error { error: err.clone(), exit_code: 125 }).unwrap();
        let mut r = &buf[..];
        let a: FromRuntime = read_frame(&mut r).unwrap().unwrap();
        assert!(matches!(a, FromRuntime::Started { pid: 42, .. }));
        let b: serde_json::Value = read_frame(&mut r).unwrap().unwrap();
        assert_eq!(b["type"], "error");
        assert_eq!(b["code"], "ERR_RUNTIME");
        assert_eq!(b["exitCode"], 125);
        assert!(read_frame::<_, FromRuntime>(&mut r).unwrap().is_none());
    }

    #[test]
    fn rejects_huge_frames() {
        let buf = (MAX_FRAME + 1).to_be_bytes();
        assert!(read_frame::<_, ToRuntime>(&mut &buf[..]).is_err());
    }
}
