// WireError → typed error classes, and the frame codec of docs/protocol.md: no runtime needed.
import test from 'ava';
import {
  CommandNotExecutableError, CommandNotFoundError, encodeFrame, FrameDecoder, fromWire, InvalidSpecError, NotFoundError,
  NsboxError, PermissionError, RuntimeError,
} from 'nsbox';

const wire = (code: string, extra: Record<string, unknown> = {}) => ({ code, op: 'pivot_root', path: '/r', errno: 1, message: 'boom', ...extra });

test('fromWire picks the class and keeps code, op, path, errno', (t) => {
  const e = fromWire(wire('EPERM'));
  t.true(e instanceof PermissionError);
  t.true(e instanceof NsboxError);
  t.like(e, { code: 'EPERM', op: 'pivot_root', path: '/r', errno: 1, exitCode: 125 });
  t.is(e.message, 'pivot_root(/r): EPERM: boom');
  t.true(fromWire(wire('EACCES')) instanceof PermissionError);
  t.true(fromWire(wire('ENOENT')) instanceof NotFoundError);
  t.true(fromWire(wire('ERR_INVALID_SPEC', { path: null, op: 'uidMap' })) instanceof InvalidSpecError);
  t.is((fromWire(wire('ERR_INVALID_SPEC', { path: null, op: 'uidMap' })) as InvalidSpecError).field, 'uidMap');
  t.true(fromWire(wire('EINVAL')) instanceof RuntimeError);
  t.true(fromWire(wire('ERR_PROTOCOL')) instanceof RuntimeError);
});

test('exec failures map by exit code, whatever the errno', (t) => {
  const nf = fromWire(wire('ENOENT', { op: 'execve', exitCode: 127 }));
  t.true(nf instanceof CommandNotFoundError);
  t.is(nf.exitCode, 127);
  const nx = fromWire(wire('EACCES', { op: 'execve', exitCode: 126 }));
  t.true(nx instanceof CommandNotExecutableError);
  t.is(nx.exitCode, 126);
});

test('a malformed error object still yields a usable error', (t) => {
  const e = fromWire({ weird: true });
  t.true(e instanceof RuntimeError);
  t.is(e.code, 'ERR_RUNTIME');
  t.is(e.path, null);
});

test('frames round-trip, split and coalesced arbitrarily', (t) => {
  const a = Buffer.from(JSON.stringify({ type: 'started', id: 'x', pid: 42 }));
  const b = Buffer.from(JSON.stringify({ type: 'exited', exitCode: 3, signal: null }));
  const wireBytes = Buffer.concat([len(a.length), a, len(b.length), b]);
  for (let cut = 0; cut <= wireBytes.length; cut++) {
    const d = new FrameDecoder();
    const frames = [...d.push(wireBytes.subarray(0, cut)), ...d.push(wireBytes.subarray(cut))];
    t.deepEqual(frames, [{ type: 'started', id: 'x', pid: 42 }, { type: 'exited', exitCode: 3, signal: null }]);
    t.is(d.pending, 0);
  }
  const enc = encodeFrame({ type: 'kill', signal: 15 });
  t.is(enc.readUInt32BE(0), enc.length - 4);
  t.deepEqual(JSON.parse(enc.subarray(4).toString()), { type: 'kill', signal: 15 });
});

test('garbage frames are protocol errors', (t) => {
  t.throws(() => new FrameDecoder().push(Buffer.concat([len(3), Buffer.from('{x]')])), { instanceOf: RuntimeError, message: /ERR_PROTOCOL/ });
  t.throws(() => new FrameDecoder().push(len(0xffffffff)), { instanceOf: RuntimeError, message: /too large/ });
  const body = Buffer.from('{"type":"nonsense"}');
  t.throws(() => new FrameDecoder().push(Buffer.concat([len(body.length), body])), { instanceOf: RuntimeError, message: /unknown frame type/ });
});

function len(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
