"""A job's own namespaces, made by a process the zygote forked, before any user code.

The zygote's bwrap sandbox is shared by every job it forks, so each job makes its own inside
it: user, mount, pid, network, IPC and UTS namespaces (`enter`, in the middle process), then,
as pid 1 of the new pid namespace, a mount namespace that shows nothing of the zygote's or of
another job's (`isolate`): fresh tmpfs on /tmp (the runner's and the egress proxy's mounts
carried over, not the job socket's dir nor the zygote's) and on its cwd, an empty /proc,
/dev/shm its own; its own loopback; and no capabilities left, so it cannot undo a mount it
was given. Should its code make a user namespace of its own to get capabilities back, the
mounts copied into it are locked by the kernel (they cannot be unmounted to show what they
cover), and Landlock refuses a confined process any new mount.

Why /proc is empty rather than a fresh proc of the job's pid namespace: the kernel refuses a
new proc mount in a user namespace unless a fully visible one is already there, and bwrap's
/proc has its sys, irq and bus dirs covered. Scripts read nothing under /proc in any case:
Landlock (landlock.py) grants no access to it.
"""

import os
import select

import libc

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
JOB_NAMESPACES = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REC = 1 << 14
MS_PRIVATE = 1 << 18
_TMPFS_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC

_PR_SET_PDEATHSIG = 1
_PR_SET_SECUREBITS = 28
# SECBIT_NOROOT and SECBIT_NO_SETUID_FIXUP set and locked, SECBIT_KEEP_CAPS locked off: uid 0 in
# the job's user namespace (a server run as root) gets no capabilities back from anything.
_SECUREBITS_LOCKED_NOROOT = 0x2F
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_SIGKILL = 9
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def _check(result, what):
    if result != 0:
        errno = libc.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def enter():
    """Moves this process into new namespaces; its next child is pid 1 of the new pid namespace.

    The uid and gid stay what they were (mapped to themselves): files the job writes on its
    tmpfs are owned as before, and the host sees the job as the server's own user, as today.
    """
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(JOB_NAMESPACES), "unshare")
    # setgroups must be denied before an unprivileged gid map is accepted.
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)


def _mount_tmpfs(path, size_mb, flags=0, mode="0700"):
    data = f"size={size_mb}m,nr_inodes=16384,mode={mode}".encode()
    _check(libc.mount(b"tmpfs", path.encode(), b"tmpfs", _TMPFS_FLAGS | flags, data), f"tmpfs on {path}")


def _loopback_up():
    """Brings up lo, which a new network namespace has down: the egress forwarder listens on it."""
    import _socket
    import fcntl
    import struct

    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, request + b"\0" * 22)[:18])[1]
        fcntl.ioctl(sock.fileno(), _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP) + b"\0" * 22)
    finally:
        sock.close()


def _drop_capabilities():
    """No capability left in the job's user namespace, and none to be had again."""
    _check(libc.prctl(_PR_SET_SECUREBITS, _SECUREBITS_LOCKED_NOROOT, 0, 0, 0), "securebits")
    header = (libc.c_int32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (libc.c_int32 * 6)()
    _check(libc.capset(libc.byref(header), libc.byref(data)), "capset")


def watch_parent(alive_fd):
    """The job dies with the process between it and the zygote (killed by the pool, say).

    pdeathsig covers the parent dying from now on; the pipe, whose write end only the parent
    holds, tells whether it died already.
    """
    _check(libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0), "pdeathsig")
    if select.select([alive_fd], [], [], 0)[0]:
        os._exit(1)


MS_BIND = 1 << 12


def mounts_under(top, skip):
    """Mount points below `top` in this mount namespace, parents first, less those in `skip`.

    bwrap mounts the runner, the proxy's dir and such on top of the zygote's /tmp; a job
    gets a fresh /tmp, and these mounted on it again.
    """
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as info:
        for line in info:
            # Field 5 is the mount point, with spaces and such as octal escapes.
            point = line.split(" ")[4].encode().decode("unicode_escape")
            if point.startswith(top.rstrip("/") + "/") and point not in skip and point not in found:
                found.append(point)
    return found


def _rebind_under_fresh(top, keep, size_mb):
    """A fresh tmpfs on `top`, with the mounts in `keep` (below it) bound again in their places."""
    held = [(path, os.open(path, os.O_PATH | os.O_CLOEXEC)) for path in keep]
    _mount_tmpfs(top, size_mb, mode="1777")
    for path, fd in held:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(path, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        # A bind of a read-only mount stays read-only (the kernel locks that in a user namespace).
        _check(libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND, None), f"bind {path}")
        os.close(fd)


def isolate(workdir, memory_mb, keep, hidden):
    """As pid 1 of the job's namespaces: a filesystem view of its own, then no capabilities.

    `keep`: mounts below /tmp to carry over onto the job's fresh one (see mounts_under).
    `hidden`: dirs of the zygote's sandbox the job must not reach (the job socket dir, once
    the job has connected to it), covered where the fresh /tmp did not already hide them.
    Size-limited tmpfs: a job cannot fill the host's disk or memory with files, and what it
    writes is gone with its mount namespace.
    """
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "private mounts")
    size_mb = max(16, memory_mb)
    _rebind_under_fresh("/tmp", keep, size_mb)
    os.makedirs(workdir, mode=0o700, exist_ok=True)
    _mount_tmpfs(workdir, size_mb)
    os.chdir(workdir)
    for path in hidden:
        if os.path.exists(path):
            _mount_tmpfs(path, 1, MS_RDONLY, mode="0000")
    _mount_tmpfs("/proc", 1, MS_RDONLY, mode="0555")
    if os.path.isdir("/dev/shm"):
        _mount_tmpfs("/dev/shm", size_mb, mode="1777")
    _loopback_up()
    _drop_capabilities()
