"""Safe file plumbing for outputs and untrusted inputs.

Outputs: every file rlviz writes goes to a temporary name in the same folder and is renamed
onto its place when complete (:func:`atomic_path`), so an existing file is never truncated,
an interrupted write leaves the old file, and a symbolic link at the destination is replaced
rather than written through. Outputs are checked before the work (:func:`check_output_file`,
:func:`check_output_dir`), and :func:`output_lock` makes a second process writing the same
output refuse instead of both claiming success.

Inputs: :func:`read_limited` reads only regular files (never a FIFO or a device such as
``/dev/zero``) up to a size cap, and :func:`inside_folder` refuses links that leave an agent
folder. :func:`safe_name` and :func:`printable` turn untrusted names into a file name and
into text fit for a terminal.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rlviz.util.errors import RlvizError

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._+-]+")


def printable(text: object, max_len: int = 300) -> str:
    """``text`` fit for one terminal line: ANSI escapes and control characters (newlines too)
    removed or turned into spaces, and cut to ``max_len`` characters."""
    s = _ANSI.sub("", str(text))
    s = _CONTROL.sub(" ", s)
    return s if len(s) <= max_len else s[: max_len - 3] + "..."


def safe_name(text: object, fallback: str = "agent", max_len: int = 80) -> str:
    """A file-name stem made from untrusted text (an agent's name): letters, digits, ``._+-``
    only, no leading dot or dash, no path separators, at most ``max_len`` characters."""
    s = _UNSAFE_NAME.sub("-", printable(text, 10 * max_len)).strip(".-")
    s = re.sub(r"-{2,}", "-", s)[:max_len].strip(".-")
    return s or fallback


# ---- writing ------------------------------------------------------------------------------

def _probe_folder(folder: Path, what: str) -> None:
    """Create and remove a file in ``folder``: a real write test (os.access says yes for root
    even on read-only file systems)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".rlviz-probe-", dir=folder)
    except OSError as exc:
        raise RlvizError(f"cannot write into {folder} ({exc.strerror or exc}); choose another {what}") from None
    os.close(fd)
    os.unlink(name)


def _make_folder(folder: Path, what: str) -> None:
    if folder.exists() and not folder.is_dir():
        raise RlvizError(f"cannot create folder {folder}: a file of that name is in the way; choose another {what}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RlvizError(f"cannot create folder {folder} ({exc.strerror or exc}); choose another {what}") from None


def check_output_file(path: str | Path, suffixes: tuple[str, ...] | None = None, *, what: str = "--out") -> Path:
    """Fail before any work when ``path`` cannot take the output: a folder, a FIFO or device,
    a wrong suffix, or a folder that cannot be created or written. Creates missing folders."""
    p = Path(path)
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise RlvizError(f"{what} {p} needs one of the suffixes {', '.join(suffixes)}")
    if p.is_dir():
        raise RlvizError(f"{p} is a folder; give {what} a file name such as {p / ('out' + (suffixes or ('.json',))[0])}")
    if p.exists() and not p.is_file():
        raise RlvizError(f"{p} exists and is not a regular file; choose another {what}")
    parent = p.parent if str(p.parent) else Path(".")
    _make_folder(parent, what)
    _probe_folder(parent, what)
    return p


def check_output_dir(path: str | Path, *, what: str = "--out") -> Path:
    """Fail before any work when ``path`` cannot become an output folder; creates it."""
    p = Path(path)
    _make_folder(p, what)
    _probe_folder(p, what)
    return p


def _temp_name(path: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name[:60]}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path`` (same suffix); when the block completes,
    rename it onto ``path`` (replacing a file or a symbolic link, never writing through one).
    On an error or Ctrl-C the temporary file is removed and ``path`` is untouched."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    if p.is_dir() and not p.is_symlink():
        raise RlvizError(f"{p} is a folder; choose a file name")
    tmp = _temp_name(p)
    try:
        yield tmp
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise RlvizError(f"nothing was written to {p}")
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename (see :func:`atomic_path`)."""
    p = Path(path)
    with atomic_path(p) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return p


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename."""
    return write_bytes_atomic(path, text.encode("utf-8"))


@contextlib.contextmanager
def output_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on the output ``path`` for the length of the block, so that a
    second rlviz process writing the same output refuses with a one-line message instead of
    racing the first. The lock is a hidden ``.<name>.lock`` file beside ``path``, locked with
    ``flock`` (released by the kernel if the process dies) and removed afterwards."""
    import fcntl

    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    lock = parent / f".{p.name}.lock"
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise RlvizError(f"cannot lock {p} ({exc.strerror or exc}); choose another output") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RlvizError(
                f"another rlviz process is writing {p}; wait for it to finish or choose another output"
            ) from None
        try:  # the holder before us may have removed the lock file: lock the one on disk
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


# ---- reading untrusted files --------------------------------------------------------------

def read_limited(path: str | Path, max_bytes: int, *, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; FIFOs, devices (``/dev/zero``),
    folders and larger files are refused before reading, with a one-line RlvizError."""
    p = Path(path)
    try:
        info = os.stat(p)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RlvizError(f"{p} is a loop of symbolic links; replace it with the real {what}") from None
        raise RlvizError(f"cannot read {what} {p} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise RlvizError(f"{p} is not a regular file (a folder, FIFO or device); an agent's {what} must be a file")
    if info.st_size > max_bytes:
        raise RlvizError(f"{p} is {info.st_size:,} bytes, more than the {max_bytes:,} an agent's {what} may have")
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise RlvizError(f"cannot read {what} {p} ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise RlvizError(f"{p} grew past the {max_bytes:,} bytes an agent's {what} may have while it was read")
    return data


def inside_folder(folder: str | Path, path: str | Path, *, what: str = "file") -> Path:
    """``path`` with links resolved, refused unless it stays strictly inside ``folder`` (so a
    link in an agent folder cannot make rlviz read or write elsewhere, nor loop)."""
    base, p = Path(folder), Path(path)
    try:
        root = base.resolve(strict=True)
        real = p.resolve(strict=False)
    except (OSError, RuntimeError):
        raise RlvizError(f"{p} is a loop of symbolic links; replace it with the real {what}") from None
    if real == root or root not in real.parents:
        raise RlvizError(f"{p} is a link that leaves its agent folder {base}; copy the real {what} into the folder")
    return real
