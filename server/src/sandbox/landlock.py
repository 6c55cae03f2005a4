"""Linux Landlock for the Python runner, through libc.py's ctypes calls (no package to install).

Landlock lets an unprivileged process take away its own rights, for good, for itself and
anything it forks. Node scripts get the same effect from Node's permission model; Python
has none, so without this a script could read the server's files, its database under
.switchyard/, or /proc/<server pid>/environ. See https://docs.kernel.org/userspace-api/landlock.html
"""

import os
import stat
import sys

import libc

# The same numbers on every architecture: Landlock came after the syscall tables were unified.
_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
# Rights that make sense on a file (the others concern directories and are refused there).
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV

NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4

SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6: no kill() of the server or of other sandboxes

# What a Python program reads on an ordinary day: the interpreter and its packages, shared
# libraries, TLS roots, name resolution and time zones. Not /etc as a whole (passwd,
# shadow, app configs), not /proc (other processes' environments), not /home.
_SYSTEM_READ = (
    "/usr",
    "/lib",
    "/lib32",
    "/lib64",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/localtime",
    "/etc/mime.types",
    "/etc/ld.so.cache",
    "/dev/urandom",
    "/dev/random",
)
_DEVICES_RW = ("/dev/null", "/dev/zero")


class _RulesetAttr(libc.Structure):
    _fields_ = [
        ("handled_access_fs", libc.c_uint64),
        ("handled_access_net", libc.c_uint64),
        ("scoped", libc.c_uint64),
    ]


class _PathBeneathAttr(libc.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", libc.c_uint64), ("parent_fd", libc.c_int32)]


def _handled_fs(abi):
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def _read_paths():
    paths = set(_SYSTEM_READ)
    paths.update({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})
    paths.update(p for p in sys.path if p)
    # A prefix of "/" (a distro Python) would open everything; /usr already covers its stdlib.
    return sorted(p for p in paths if os.path.abspath(p) != "/")


def _allow(ruleset, path, access):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # not on this host
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            access &= FILE_RIGHTS
        rule = _PathBeneathAttr(allowed_access=access, parent_fd=fd)
        if libc.syscall(libc.c_long(_SYS_ADD_RULE), libc.c_long(ruleset), libc.c_long(_RULE_PATH_BENEATH),
                        libc.byref(rule), libc.c_long(0)) != 0:
            raise OSError(libc.get_errno(), f"Landlock refused a rule for {path}")
    finally:
        os.close(fd)


def _close_udp():
    """Landlock covers TCP only: UDP, raw and unix sockets are refused at the Python level.

    Unix sockets too: without a mount namespace the host's are all there (a local database,
    a container daemon). Code that calls libc through ctypes gets past this; only TCP is
    kernel-enforced here, which is why namespaces are the mode to run in.
    """
    import socket

    original = socket.socket

    class _NoNetworkSocket(original):
        def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
            # An existing descriptor (socketpair(), asyncio's self-pipe) opens nothing new.
            if fileno is None:
                raise PermissionError("scripts have no network on this server (no network namespace; "
                                      "an admin can set SWITCHYARD_SCRIPT_DIRECT_NETWORK=true)")
            super().__init__(family, type, proto, fileno)

    socket.socket = _NoNetworkSocket


def confine(workdir, no_network=False):
    """Restricts this process for good; returns None, or why it could not (the job must not run).

    With `no_network`, TCP connect and bind are refused too (Landlock ABI 4), for hosts where
    the script has no network namespace of its own.
    """
    abi = libc.syscall(libc.c_long(_SYS_CREATE_RULESET), None, libc.c_long(0),
                       libc.c_long(_CREATE_RULESET_VERSION))
    if abi < 1:
        return ("Python scripts need Linux Landlock (kernel 5.13 or later, with landlock in the LSM list) "
                "to keep them away from the server's files, and this host does not provide it")
    handled = _handled_fs(abi)
    if no_network and abi < 4:
        return ("scripts must run without network here, and this kernel's Landlock cannot refuse TCP "
                "(ABI 4, kernel 6.7); install bubblewrap or set SWITCHYARD_SCRIPT_DIRECT_NETWORK=true")
    net = NET_BIND_TCP | NET_CONNECT_TCP if no_network else 0
    attr = _RulesetAttr(handled_access_fs=handled, handled_access_net=net,
                        scoped=SCOPE_SIGNAL | SCOPE_ABSTRACT_UNIX_SOCKET if abi >= 6 else 0)
    # The kernel reads only the fields its ABI knows; a larger size with zeros is refused on old ones.
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(libc.c_long(_SYS_CREATE_RULESET), libc.byref(attr), libc.c_long(size), libc.c_long(0))
    if ruleset < 0:
        return f"Landlock could not create a ruleset: {os.strerror(libc.get_errno())}"
    try:
        for path in _read_paths():
            _allow(ruleset, path, READ_FILE | READ_DIR)
        for path in _DEVICES_RW:
            _allow(ruleset, path, READ_FILE | WRITE_FILE)
        # Everything in the temp dir but executing what the script wrote there.
        _allow(ruleset, workdir, handled & ~EXECUTE)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return f"could not set no_new_privs: {os.strerror(libc.get_errno())}"
        if libc.syscall(libc.c_long(_SYS_RESTRICT_SELF), libc.c_long(ruleset), libc.c_long(0)) != 0:
            return f"Landlock could not restrict the process: {os.strerror(libc.get_errno())}"
    except OSError as err:
        return str(err)
    finally:
        os.close(ruleset)
    if no_network:
        _close_udp()
    return None
