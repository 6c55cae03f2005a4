"""The zygote: a Python fork server, one per pool spec, so a job pays neither bwrap nor the
interpreter's start (see zygote.ts for the server's side).

It runs under bwrap like a sandbox process, started as `python3 -I -S -B -X utf8 zygote.py
<memory MB> <job socket>`, imports the runner and everything the runner needs up front, and
then only forks, on the server's word: it never runs user code and never sees a job's code,
arguments or output, which go from the server to the job's process over the job socket
(below). Commands come as JSON lines on stdin, events go as JSON lines on fd 3:

  in:  {"type": "fork", "token": T}   {"type": "kill", "token": T}
  out: {"type": "ready", "pid": P}    {"type": "unavailable", "message": ...}
       {"type": "forked", "token": T, "pid": M}
       {"type": "exit", "token": T, "code": C, "signal": S}

Per job: the zygote forks the middle process M, which enters new namespaces (namespaces.py)
and forks the job, pid 1 of its pid namespace; M waits for it and exits as it did, which the
zygote reports. Killing M (the pool's kill) kills the job (pdeathsig), and with the job's
pid 1 its whole pid namespace. The zygote dying (even SIGKILL) ends bwrap's pid namespace,
and every job's nested in it.

Why the job channel is safe: the job connects to the server's unix socket, in a dir only
zygote sandboxes mount, three times (stdin and fd 3, stdout, stderr), each time first sending
the random token the server gave for this job alone; the server takes each stream of a token
once, and only while that job is live. Then, still before user code, the job puts a fresh
/tmp over the socket's dir (or covers the dir, outside /tmp) in its own mount namespace and
drops every capability, so it can never connect again (namespaces.py: nor undo that), and it
closes every descriptor it inherited from the zygote (its command pipe and event channel). A
job's code reaches only its own connections; another job's token, should one sit in the
memory it inherited, opens nothing, as the socket is out of reach.
"""

import gc
import os
import select
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import libc  # noqa: E402
import namespaces  # noqa: E402
import runner  # noqa: E402
import wire  # noqa: E402

sys.path.pop(0)

# What a job may need and costs the zygote nothing to have imported once for all its forks.
import _socket  # noqa: E402, F401
import fcntl  # noqa: E402, F401
import struct  # noqa: E402, F401
import traceback  # noqa: E402, F401

# The server's tokens: 32 random bytes, in hex.
_TOKEN_CHARS = 64


def _send(message):
    os.write(3, (wire.dumps(message) + "\n").encode())


def _connect(socket_path, token, stream):
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.connect(socket_path)
    sock.sendall(f"{token} {stream}\n".encode())
    return sock.detach()


def _job(token, memory_mb, socket_path, keep, alive_fd):
    """pid 1 of the job's namespaces: its channel, its own view of the system, then the runner."""
    namespaces.watch_parent(alive_fd)
    io, out, err = (_connect(socket_path, token, name) for name in ("io", "stdout", "stderr"))
    for fd, target in ((io, 0), (out, 1), (err, 2), (io, 3)):
        os.dup2(fd, target)
    # Nothing of the zygote's: its command pipe and event channel, the sockets' first fds.
    os.closerange(4, os.sysconf("SC_OPEN_MAX"))
    # A cwd of its own name too (the zygote's dir is not kept): a run's processes can be told
    # apart from the host by their cwd, as those of per-process sandboxes are.
    zygote_dir = os.getcwd()
    workdir = f"{zygote_dir}-{os.urandom(6).hex()}"
    namespaces.isolate(workdir, memory_mb, keep, hidden=[os.path.dirname(socket_path), zygote_dir])
    # What a script sees in sys.argv is what a runner started on its own would have.
    sys.argv = [runner.__file__, str(memory_mb)]
    runner.main(memory_mb, site_ready=True)


def _middle(token, memory_mb, socket_path, keep):
    """Between the zygote and the job: makes the namespaces, waits for the job, exits as it did."""
    try:
        namespaces.enter()
        alive_r, alive_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(alive_w)
            _job(token, memory_mb, socket_path, keep, alive_r)
            os._exit(0)
        # The middle keeps stdout and stderr (the zygote's, for its own errors) and the pipe's write end.
        os.close(0)
        os.closerange(3, alive_w)
        os.closerange(alive_w + 1, os.sysconf("SC_OPEN_MAX"))
        _, status = os.waitpid(pid, 0)
    except BaseException as err:  # noqa: BLE001  (reported on the middle's stderr, the zygote's)
        print(f"the job's namespaces could not be made: {err}", file=sys.stderr, flush=True)
        os._exit(70)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _fork(token, memory_mb, socket_path, keep, inherited):
    pid = os.fork()
    if pid == 0:
        # The zygote's books (other jobs' tokens among them) are no business of this job's. Its
        # memory still holds their bytes; what keeps a token useless to it is the socket being
        # out of reach (see the top of this file).
        for books in inherited:
            books.clear()
        try:
            _middle(token, memory_mb, socket_path, keep)
        finally:
            os._exit(70)
    return pid


def _kill(middle):
    """Kills a job: its pid 1 first, then the middle process.

    The job's pdeathsig alone would not do: user code may clear it (prctl), and would then
    outlive the middle. Its pid 1 is the middle's only child (the middle is single-threaded,
    so one task's list has them all); it dies with its whole pid namespace. Were the middle
    yet to fork, it dies first, and a job forked meanwhile dies of the pdeathsig it sets
    before any user code runs (namespaces.watch_parent).
    """
    try:
        with open(f"/proc/{middle}/task/{middle}/children", encoding="ascii") as children:
            pids = [int(pid) for pid in children.read().split()]
    except OSError:
        pids = []
    for pid in [*pids, middle]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _probe():
    """None when this host lets a process nest the namespaces jobs need, else why not."""
    pid = os.fork()
    if pid == 0:
        try:
            namespaces.enter()
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        return None
    return "nested user namespaces are not available inside bubblewrap"


# Our own code, never a job's: a first compile() costs a process about 3 ms of CPU (the
# parser and compiler set themselves up), which forks inherit done when the zygote paid it.
_WARM_UP = """
async def _f(n):
    return n if n < 2 else [x for x in range(n)][-1] + 1.5
import sys
"""


def _warm_up():
    code = compile(_WARM_UP, runner.FILENAME, "exec", flags=runner._PYCF_ALLOW_TOP_LEVEL_AWAIT)
    exec(code, {"__name__": "_warm_up"})  # noqa: S102  (the fixed snippet above)
    wire.loads(wire.dumps({"type": "done", "outputs": {"a": [1, 2.5, "x", None, True]}}))


def _exit_of(status):
    if os.WIFSIGNALED(status):
        return {"code": None, "signal": signal.Signals(os.WTERMSIG(status)).name}
    return {"code": os.waitstatus_to_exitcode(status), "signal": None}


def main():
    memory_mb = int(sys.argv[1])
    socket_path = sys.argv[2]
    # Job-independent, so done once here rather than in every job.
    runner._use_site_packages()
    _warm_up()
    # What of the zygote's /tmp a job keeps: the runner, the proxy's socket; not the job socket.
    keep = namespaces.mounts_under("/tmp", skip={os.getcwd(), os.path.dirname(socket_path)})
    problem = _probe()
    if problem:
        _send({"type": "unavailable", "message": problem})
        return
    # Objects of the zygote are left alone by the forks' collector: it would write to (and so
    # copy) every page holding one.
    gc.collect()
    gc.freeze()
    _send({"type": "ready", "pid": os.getpid()})
    # Live middles: pidfd -> (pid, token). A pidfd becomes readable when its process exits.
    jobs = {}
    by_token = {}
    pending = b""
    while True:
        readable, _, _ = select.select([0, *jobs], [], [])
        for fd in readable:
            if fd == 0:
                continue
            pid, token = jobs.pop(fd)
            by_token.pop(token, None)
            os.close(fd)
            _, status = os.waitpid(pid, 0)
            _send({"type": "exit", "token": token, **_exit_of(status)})
        if 0 not in readable:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            return  # the server is gone; bwrap's pid namespace takes the jobs along
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            command = wire.loads(line.decode())
            token = command.get("token")
            if not isinstance(token, str) or len(token) != _TOKEN_CHARS:
                continue
            if command.get("type") == "fork" and token not in by_token:
                pid = _fork(token, memory_mb, socket_path, keep, (jobs, by_token, lines))
                jobs[os.pidfd_open(pid)] = (pid, token)
                by_token[token] = pid
                _send({"type": "forked", "token": token, "pid": pid})
            elif command.get("type") == "kill" and token in by_token:
                _kill(by_token[token])


if __name__ == "__main__":
    main()
