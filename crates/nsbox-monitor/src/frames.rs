//! The frames of `attach.sock`, shared by the monitor's loop and its clients (attach, start).

/// Attach frames: an 8-byte header (kind, 0, 0, 0, big-endian u32 length) and the payload, the
/// layout of docker's multiplexed attach stream. Monitor → client: STDOUT, STDERR, EXIT (payload:
/// the exit code in decimal). Client → monitor: STDIN (bytes for the pty), RESIZE (rows, cols as
/// big-endian u16), START (start a container held at `created`; the monitor answers with a START
/// frame whose payload is JSON: `{"pid":N}` or `{"error":{…},"exitCode":N}`), CLOSE_STDIN (with
/// `-i`: close the container's stdin).
pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const EXIT: u8 = 3;
pub const RESIZE: u8 = 4;
pub const START: u8 = 5;
pub const CLOSE_STDIN: u8 = 6;

pub fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + payload.len());
    v.extend_from_slice(&[kind, 0, 0, 0]);
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// Takes the next whole attach frame off the front of `buf`: (kind, payload), or None until more
/// bytes arrive.
pub fn take_frame(buf: &mut Vec<u8>) -> Option<(u8, Vec<u8>)> {
    if buf.len() < 8 {
        return None;
    }
    let len = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
    if buf.len() < 8 + len {
        return None;
    }
    let kind = buf[0];
    Some((kind, buf.drain(..8 + len).skip(8).collect()))
}
