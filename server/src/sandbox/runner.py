"""The Python side of the script sandbox: one process runs exactly one job, then dies.

The pool starts it, often ahead of need, as `python3 -I -S -B -X utf8 runner.py <memory MB>`
in a fresh temp dir with a scrubbed environment. Everything that does not depend on the job
is done at once: limits, confinement, the egress forwarder. Then it says ready on fd 3 and
waits for one JSON job line on stdin; it answers in JSON lines on fd 3 (the same messages as
the Node runner: ready, then log, done, failed). Python has no permission model, so the
runner confines itself with Linux Landlock (see landlock.py) before it reads any job: read
access to the interpreter and system libraries only, write access to its temp dir only, no
exec, no signals to processes outside the sandbox. Where Landlock is missing it refuses the job.

Start-up is paid by every run, so only what the runner cannot do without is imported up
front (libc.py's ctypes calls for Landlock, wire.py's JSON; _thread, not threading, and no ast, which
together cost more than the interpreter's own start); the rest (traceback, asyncio) when needed.
"""

import _thread
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import landlock  # noqa: E402  (next to this file, and -I keeps that dir off sys.path)
import libc  # noqa: E402
import wire  # noqa: E402

sys.path.pop(0)


def _add_pth_paths(sitedir, name):
    try:
        with open(os.path.join(sitedir, name), encoding="utf-8") as pth:
            lines = pth.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return
    for line in lines:
        line = line.rstrip()
        if not line or line.startswith(("#", "import ", "import\t")):
            continue
        path = os.path.join(sitedir, line)
        if os.path.exists(path) and path not in sys.path:
            sys.path.append(path)


def _use_site_packages():
    """Puts the install's site-packages on sys.path, and exit()/quit()/help() in builtins.

    The interpreter runs with -S, so `site` does not run at start: the import lines of its
    .pth files are start-up hooks of the host's tools (setuptools' distutils shim, a
    certificate injector, sitecustomize) that cost every run tens of milliseconds and have
    no business in a script's sandbox. Their path lines are kept, as `site` reads them, so
    every installed package imports as before.
    """
    import site

    for sitedir in site.getsitepackages():
        if not os.path.isdir(sitedir) or sitedir in sys.path:
            continue
        sys.path.append(sitedir)
        for name in sorted(os.listdir(sitedir)):
            if name.endswith(".pth") and not name.startswith("."):
                _add_pth_paths(sitedir, name)
    site.setquit()
    site.setcopyright()
    site.sethelper()

# Keep in sync with limits.ts: the parent enforces the same caps again.
MAX_LINE_BYTES = 10 * 1024
MAX_OUTPUT_BYTES = 1024 * 1024
FILENAME = "<script>"
# Over the heap size asked for, room for the interpreter, thread stacks and malloc arenas;
# the parent's resident-memory watchdog holds the real line.
ADDRESS_SPACE_MARGIN_MB = 1024
# After the final message the runner waits this long for the parent's kill, instead of exiting:
# while it lives, whatever the script forked (even after setsid) is still its descendant.
HOLD_SECONDS = 5
_PR_SET_CHILD_SUBREAPER = 36
# ast.PyCF_ALLOW_TOP_LEVEL_AWAIT (CPython's compile.h since 3.8): importing ast builds all its node classes.
_PYCF_ALLOW_TOP_LEVEL_AWAIT = 0x2000

_channel = None  # fd 3, opened by main(): the zygote imports this module long before a job has one
_lock = _thread.allocate_lock()
_finished = False


def _send(message):
    with _lock:
        _channel.write(wire.dumps(message) + "\n")
        _channel.flush()


def _finish(message):
    global _finished
    if _finished:
        return
    _finished = True
    _send(message)
    # The parent kills the whole tree on receipt; exiting after a while covers a parent gone.
    time.sleep(HOLD_SECONDS)
    os._exit(0)


def _truncate(text):
    data = text.encode("utf-8", "replace")
    if len(data) <= MAX_LINE_BYTES:
        return text
    suffix = f" … [truncated, {len(data)} bytes]"
    keep = MAX_LINE_BYTES - len(suffix.encode("utf-8"))
    return data[:keep].decode("utf-8", "ignore") + suffix


def _emit(level, values):
    if not _finished:
        _send({"type": "log", "level": level, "message": _truncate(" ".join(str(v) for v in values))})


class Log:
    """`log(...)` writes INFO; `log.debug/info/warn/error` the other levels."""

    def __call__(self, *values):
        _emit("INFO", values)

    def debug(self, *values):
        _emit("DEBUG", values)

    def info(self, *values):
        _emit("INFO", values)

    def warn(self, *values):
        _emit("WARN", values)

    warning = warn

    def error(self, *values):
        _emit("ERROR", values)


class _LineWriter:
    """print() and library writes to stdout/stderr become log lines."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, level):
        self.level = level
        self.pending = ""

    def write(self, text):
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            _emit(self.level, [line])
        return len(text)

    def flush(self):
        if self.pending:
            _emit(self.level, [self.pending])
            self.pending = ""

    def isatty(self):
        return False


_outputs = {}
_output_sizes = {}


def set_output(key, value):
    if not isinstance(key, str) or key == "":
        raise TypeError("set_output(key, value): key must be a non-empty string")
    try:
        text = wire.dumps(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f'set_output("{key}"): the value is not JSON-serialisable ({err})') from None
    size = len(key.encode()) + len(text.encode())
    total = sum(s for k, s in _output_sizes.items() if k != key) + size
    if total > MAX_OUTPUT_BYTES:
        raise ValueError(
            f'outputs are limited to 1 MB in total; set_output("{key}") would bring them to {total} bytes. '
            "Write large results to a storage and output a reference instead"
        )
    _output_sizes[key] = size
    _outputs[key] = wire.loads(text)


def fail(message="the script called fail()"):
    # Ends the process on the spot, so no `except` in the script can undo it.
    _finish({"type": "failed", "message": str(message)})


def _failed(err):
    if isinstance(err, SyntaxError) and err.filename == FILENAME:
        message = {"type": "failed", "message": f"SyntaxError: {err.msg}"}
        if err.lineno:
            message.update(line=err.lineno, column=max(err.offset or 1, 1))
        return message
    text = str(err)
    message = {"type": "failed", "message": f"{type(err).__name__}: {text}" if text else type(err).__name__}
    import traceback

    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == FILENAME]
    if frames and frames[-1].lineno:
        column = getattr(frames[-1], "colno", None)
        message.update(line=frames[-1].lineno, column=(column or 0) + 1)
    if isinstance(err, MemoryError):
        message["memory"] = True
    return message


def _forward_proxy(socket_path, proxy_url):
    """Forwards the loopback proxy port to the server's egress proxy on its unix socket.

    The sandbox's network namespace has no way out but that socket; urllib, requests and
    pip find the port through HTTP_PROXY/HTTPS_PROXY. Started after Landlock, so the
    forwarding threads are confined like the script. Written on _socket, the C module under
    `socket`, whose import (enum and all) would add several ms to every sandbox's start.
    """
    import _socket

    port = int(proxy_url.rsplit(":", 1)[1])
    server = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    server.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(64)

    def pump(source, target):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.shutdown(_socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve():
        while True:
            fd, _ = server._accept()
            client = _socket.socket(fileno=fd)
            upstream = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            try:
                upstream.connect(socket_path)
            except OSError:
                client.close()
                upstream.close()
                continue
            _thread.start_new_thread(pump, (client, upstream))
            _thread.start_new_thread(pump, (upstream, client))

    _thread.start_new_thread(serve, ())


def _watch_parent(channel):
    # The parent keeps stdin open; its end means the server is gone and so must we be.
    channel.read()
    os._exit(1)


def _run(job):
    namespace = {
        "__name__": "__main__",
        "params": job["args"].get("params"),
        "variables": job["args"].get("variables"),
        "triggered_by_user": job["args"].get("triggered_by_user"),
        "run": job["args"].get("run"),
        "log": Log(),
        "set_output": set_output,
        "fail": fail,
    }
    code = compile(job["source"], FILENAME, "exec", flags=_PYCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # noqa: S307  (this is the sandbox: running user code is the point)
    if result is not None:
        # Top-level await turns the module body into a coroutine.
        import asyncio

        asyncio.run(result)


def _prepare(memory_mb, site_ready=False):
    """Does all that does not depend on the job; returns None, or why no job may run here.

    `site_ready`: the zygote put site-packages on sys.path before it forked this process.
    """
    # Orphans of the script are re-parented to this process rather than to init, so the
    # parent's walk of the tree still finds them (a pid namespace, where there is one, does more).
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    memory = (memory_mb + ADDRESS_SPACE_MARGIN_MB) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if not site_ready:
        _use_site_packages()
    problem = landlock.confine(os.getcwd(), no_network=os.environ.get("SWITCHYARD_NO_NETWORK") == "1")
    if problem:
        return problem
    # Threads only after Landlock: it confines the calling thread and those it starts later,
    # and user code shares memory with every thread of the process.
    if os.environ.get("SWITCHYARD_EGRESS_SOCKET"):
        _forward_proxy(os.environ["SWITCHYARD_EGRESS_SOCKET"], os.environ["SWITCHYARD_EGRESS_PROXY"])
    return None


def main(memory_mb, site_ready=False):
    global _channel
    _channel = os.fdopen(3, "w", encoding="utf-8", buffering=1)
    problem = _prepare(memory_mb, site_ready)
    if problem is None:
        _send({"type": "ready"})
    jobs = sys.stdin.buffer
    line = jobs.readline()
    if not line:
        os._exit(1)  # the server went away before it had a job for this process
    _thread.start_new_thread(_watch_parent, (jobs,))
    # The script's stdin is empty: the job channel is the runner's. (exit() closes sys.stdin,
    # which would otherwise wait forever for the thread reading the channel.)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115  (open for the whole run)
    if problem:
        _finish({"type": "failed", "message": problem})
    job = wire.loads(line.decode("utf-8"))
    if job.get("memoryMb") != memory_mb:
        # The pool matches a warm process to the job's limits; a mismatch is its bug, never the script's chance.
        _finish({"type": "failed", "message": f"this sandbox was started for {memory_mb} MB, not the job's {job.get('memoryMb')}"})
    sys.stdout, sys.stderr = _LineWriter("INFO"), _LineWriter("WARN")
    try:
        _run(job)
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            _finish({"type": "failed", "message": f"the script exited with {exit_.code!r}"})
    except BaseException as err:  # noqa: BLE001  (every failure of user code is reported)
        _finish(_failed(err))
    sys.stdout.flush()
    sys.stderr.flush()
    _finish({"type": "done", "outputs": _outputs})


if __name__ == "__main__":
    main(int(sys.argv[1]))
