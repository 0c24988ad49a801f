"""The caller's side of --console-socket, as conmon and containerd's shim play it: listen on a unix
socket, receive the pty master in one SCM_RIGHTS message, type `typed` into it, and print what the
container writes until its terminal closes (stdout), the message's payload on stderr."""
import array
import os
import select
import socket
import sys

path, typed = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else '')
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
print('ready', flush=True)
conn, _ = srv.accept()
fds = array.array('i')
msg, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
for level, kind, data in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
sys.stderr.write(f'fds={len(fds)} payload={msg.decode(errors="replace")}\n')
master = fds[0]
if typed:
    os.write(master, typed.encode())
out = b''
while True:
    ready, _, _ = select.select([master], [], [], 20)
    if not ready:
        break
    try:
        chunk = os.read(master, 4096)
    except OSError:  # EIO: every slave closed, the container's terminal is gone
        break
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode(errors='replace'))
