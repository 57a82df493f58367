"""Confining a child process that runs a submission: writes only in its own folder, its own process group.

:func:`restrict_writes` uses Landlock (Linux ≥ 5.13, unprivileged): after it returns, the calling
process and everything it starts can create, modify, rename or delete files only beneath the folders
given (plus ``/dev/null``; not even ``/dev/shm``, so a store kept there stays out of reach too); reading
stays allowed. It is
irrevocable for that process. Where the kernel has no Landlock (other systems, older kernels) it
returns a note saying the writes are unrestricted; the parent's record hashes (``store_guard``) then
remain the line of defence.

:func:`own_process_group` and :func:`kill_group`: the child leads a new session, so whatever it forks
is killed with it, even a process that outlived it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import tempfile
from pathlib import Path

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same numbers on every Linux architecture
_RULE_PATH_BENEATH = 1
_CREATE_RULESET_VERSION = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1

# LANDLOCK_ACCESS_FS_* bits (linux/landlock.h)
_WRITE_FILE, _REMOVE_DIR, _REMOVE_FILE = 1 << 1, 1 << 4, 1 << 5
_MAKE = sum(1 << b for b in range(6, 13))  # char, dir, reg, sock, fifo, block, sym
_REFER, _TRUNCATE = 1 << 13, 1 << 14  # ABI 2, ABI 3


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 where there is none (not Linux, too old, disabled)."""
    if not sys.platform.startswith("linux"):
        return 0
    version = _libc().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(0, int(version))


def restrict_writes(allowed: list[str | os.PathLike]) -> str:
    """Forbid this process (and its future children) every file-system write outside ``allowed``.

    Returns how writes are confined, for the record: ``"landlock ABI n: writes only in its own folder"``
    or ``"unrestricted: …"`` with the reason."""
    abi = landlock_abi()
    if abi == 0:
        return "unrestricted: this kernel has no Landlock (Linux >= 5.13); other records are checked by hash instead"
    libc = _libc()
    writes = _WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE | (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0)
    attr = ctypes.c_uint64(writes)  # struct landlock_ruleset_attr, first field only (handled_access_fs)
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(8), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"unrestricted: landlock_create_ruleset failed ({os.strerror(ctypes.get_errno())})"
    try:
        rules = [(Path(p), writes) for p in allowed if Path(p).is_dir()]
        rules += [(Path("/dev/null"), _WRITE_FILE | (_TRUNCATE if abi >= 3 else 0))]
        for path, access in rules:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneath(access, fd)
                if libc.syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule),
                                ctypes.c_uint32(0)) < 0:
                    return f"unrestricted: landlock_add_rule({path}) failed ({os.strerror(ctypes.get_errno())})"
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return f"unrestricted: prctl(NO_NEW_PRIVS) failed ({os.strerror(ctypes.get_errno())})"
        if libc.syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            return f"unrestricted: landlock_restrict_self failed ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    return f"landlock ABI {abi}: writes only in its own folder"


def own_process_group() -> None:
    """Make the calling process the leader of a new session and process group (no-op off POSIX)."""
    if hasattr(os, "setsid"):
        try:
            os.setsid()
        except OSError:  # already a group leader
            pass


def kill_group(pgid: int | None) -> None:
    """SIGKILL every process left in the group ``pgid`` (a child's pid after :func:`own_process_group`)."""
    if pgid and hasattr(os, "killpg"):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def confine_child(workdir: Path, parent_pid: int) -> str:
    """Everything a child that runs untrusted code does first: lead its own process group, die with its
    parent (Linux), keep temp files, caches and the working directory in ``workdir``, and write nowhere
    else (:func:`restrict_writes`, whose note it returns)."""
    own_process_group()
    if sys.platform.startswith("linux"):
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the line above took effect
            os._exit(1)
    for var in ("TMPDIR", "NUMBA_CACHE_DIR", "MPLCONFIGDIR", "XDG_CACHE_HOME"):
        os.environ[var] = str(workdir)
    os.environ["JOBLIB_MULTIPROCESSING"] = "0"  # its semaphores live in /dev/shm, out of reach: serial, no warning
    tempfile.tempdir = str(workdir)
    os.chdir(workdir)
    sys.dont_write_bytecode = True
    return restrict_writes([workdir])
