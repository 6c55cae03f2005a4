"""The Python side of the script sandbox: one process runs exactly one job, then dies.

The pool starts it as `python3 -I -B -X utf8 runner.py` in a fresh temp dir with a scrubbed
environment. It reads one JSON job line on stdin and writes JSON lines on fd 3 (the same
messages as the Node runner: ready is left out, then log, done, failed). Python has no permission model, so before user
code runs the runner confines itself with Linux Landlock (see landlock.py): read access to
the interpreter and system libraries only, write access to its temp dir only, no exec, no
signals to processes outside the sandbox. Where Landlock is missing it refuses the job.
"""

import ast
import json
import os
import resource
import sys
import threading
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import landlock  # noqa: E402  (next to this file, and -I keeps that dir off sys.path)

sys.path.pop(0)

# Keep in sync with limits.ts: the parent enforces the same caps again.
MAX_LINE_BYTES = 10 * 1024
MAX_OUTPUT_BYTES = 1024 * 1024
FILENAME = "<script>"
# Over the heap size asked for, room for the interpreter, thread stacks and malloc arenas;
# the parent's resident-memory watchdog holds the real line.
ADDRESS_SPACE_MARGIN_MB = 1024

_channel = os.fdopen(3, "w", encoding="utf-8", buffering=1)
_lock = threading.Lock()
_finished = False


def _send(message):
    with _lock:
        _channel.write(json.dumps(message) + "\n")
        _channel.flush()


def _finish(message):
    global _finished
    if _finished:
        return
    _finished = True
    _send(message)
    # The parent kills the process on receipt; exiting here covers a slow parent.
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
        text = json.dumps(value, allow_nan=False)
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
    _outputs[key] = json.loads(text)


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
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == FILENAME]
    if frames and frames[-1].lineno:
        column = getattr(frames[-1], "colno", None)
        message.update(line=frames[-1].lineno, column=(column or 0) + 1)
    if isinstance(err, MemoryError):
        message["memory"] = True
    return message


def _watch_parent():
    # The parent keeps stdin open; its end means the server is gone and so must we be.
    sys.stdin.buffer.read()
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
    code = compile(job["source"], FILENAME, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # noqa: S307  (this is the sandbox: running user code is the point)
    if result is not None:
        # Top-level await turns the module body into a coroutine.
        import asyncio

        asyncio.run(result)


def main():
    job = json.loads(sys.stdin.readline())
    threading.Thread(target=_watch_parent, daemon=True).start()
    memory = (job["memoryMb"] + ADDRESS_SPACE_MARGIN_MB) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    problem = landlock.confine(os.getcwd())
    if problem:
        _finish({"type": "failed", "message": problem})
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


main()
