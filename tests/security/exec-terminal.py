# Issue #9 item 1, from inside a container: push `touch MARKER` into the caller's terminal with
# TIOCSTI through fds 0-2 and /dev/tty, then report what this process holds. Prints short `R` lines
# (they must fit a 120-column tmux pane): `R sti fd0=ENOTTY ...`, `R self ...`, `R fds ...`.
import errno, fcntl, os, sys, termios

line = f'touch {sys.argv[1]}\n'.encode()


def push(fd):
    try:
        for c in line:
            fcntl.ioctl(fd, termios.TIOCSTI, bytes([c]))
        return 'PUSHED'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


sti = [f'fd{fd}={push(fd)}' for fd in (0, 1, 2)]
try:
    sti.append(f'devtty={push(os.open("/dev/tty", os.O_RDWR))}')
except OSError as e:
    sti.append(f'devtty=open:{errno.errorcode.get(e.errno, e.errno)}')
stat = open('/proc/self/stat').read()
fields = stat[stat.rindex(')') + 2:].split()  # fields[0] is field 3 (state)
print('R sti ' + ' '.join(sti), flush=True)
print(f'R self pid={os.getpid()} sid={os.getsid(0)} tty_nr={fields[4]}', flush=True)
print('R fds ' + ' '.join(os.readlink(f'/proc/self/fd/{i}') for i in range(3)), flush=True)
