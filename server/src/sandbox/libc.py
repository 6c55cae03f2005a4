"""The libc calls the runner makes (syscall and prctl), straight from _ctypes.

`import ctypes` costs over 4 ms of CPU at every sandbox's start (its package defines dozens of
types, imports struct and more) for the two functions and three integer types the runner
uses (and the zygote its three namespace calls). This defines those on the C module underneath, as ctypes' CDLL(None, use_errno=True)
does. Where _ctypes has not these names (an interpreter other than CPython), ctypes itself.
"""

try:
    from _ctypes import FUNCFLAG_CDECL, FUNCFLAG_USE_ERRNO, CFuncPtr, Structure, _SimpleCData, byref, dlopen, get_errno
except ImportError:
    from ctypes import CDLL, Structure, byref, c_int32, c_long, c_uint64, get_errno

    _libc = CDLL(None, use_errno=True)
    _libc.syscall.restype = c_long
    syscall = _libc.syscall
    prctl = _libc.prctl
    unshare = _libc.unshare
    mount = _libc.mount
    capset = _libc.capset
else:

    class c_long(_SimpleCData):
        _type_ = "l"

    class c_int32(_SimpleCData):
        _type_ = "i"

    class c_uint64(_SimpleCData):
        _type_ = "Q"

    class _Library:
        """What CFuncPtr looks a function up in: the process's own symbols, as CDLL(None)."""

        _handle = dlopen(None, 0)

    class _ReturnsLong(CFuncPtr):
        _flags_ = FUNCFLAG_CDECL | FUNCFLAG_USE_ERRNO
        _restype_ = c_long

    class _ReturnsInt(CFuncPtr):
        _flags_ = FUNCFLAG_CDECL | FUNCFLAG_USE_ERRNO
        _restype_ = c_int32

    syscall = _ReturnsLong(("syscall", _Library))
    prctl = _ReturnsInt(("prctl", _Library))
    # For the zygote's per-job namespaces (namespaces.py): libc's wrappers, not syscall numbers,
    # which differ between architectures for these older calls.
    unshare = _ReturnsInt(("unshare", _Library))
    mount = _ReturnsInt(("mount", _Library))
    capset = _ReturnsInt(("capset", _Library))

__all__ = ["Structure", "byref", "c_int32", "c_long", "c_uint64", "get_errno", "capset", "mount", "prctl", "syscall", "unshare"]
