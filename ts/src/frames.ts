/**
 * The control-socket framing of docs/protocol.md: a 4-byte big-endian length, then that many bytes
 * of UTF-8 JSON, one object a frame.
 */
import { protocolError } from './errors.js';

/** Same limit as nsbox-core's MAX_FRAME: a larger length is a protocol error, not an allocation. */
export const MAX_FRAME = 16 << 20;

/** Caller → runtime. */
export type ToRuntime =
  | { type: 'config'; spec: unknown }
  | { type: 'kill'; signal: number }
  | { type: 'start' };

/** Runtime → caller. */
export type FromRuntime =
  | { type: 'created'; id: string; pid: number }
  | { type: 'started'; id: string; pid: number }
  | { type: 'error'; code: string; op: string; path: string | null; errno: number | null; message: string; exitCode: number }
  | { type: 'exited'; exitCode: number; signal: string | null };

export function encodeFrame(msg: ToRuntime): Buffer {
  const body = Buffer.from(JSON.stringify(msg), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** Accumulates bytes as they arrive and hands out whole frames. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  /** Returns every frame completed by `chunk`; throws a RuntimeError (ERR_PROTOCOL) on garbage. */
  push(chunk: Buffer): FromRuntime[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: FromRuntime[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (len > MAX_FRAME) throw protocolError('read frame', `frame of ${len} bytes is too large`);
      if (this.buf.length < 4 + len) break;
      const body = this.buf.subarray(4, 4 + len).toString('utf8');
      this.buf = this.buf.subarray(4 + len);
      out.push(parseFrame(body));
    }
    return out;
  }

  /** Bytes of an unfinished frame: non-zero at end of stream means the runtime was cut off mid-frame. */
  get pending(): number {
    return this.buf.length;
  }
}

const TYPES = new Set(['created', 'started', 'error', 'exited']);

function parseFrame(body: string): FromRuntime {
  let msg: unknown;
  try {
    msg = JSON.parse(body);
  } catch {
    throw protocolError('read frame', `frame is not JSON: ${body.slice(0, 200)}`);
  }
  const type = (msg as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !TYPES.has(type)) {
    throw protocolError('read frame', `unknown frame type ${JSON.stringify(type)}`);
  }
  return msg as FromRuntime;
}
