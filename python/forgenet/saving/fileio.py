"""Writing and opening model files without damaging or trusting what is at the path.

Save: a symlink is followed and its target replaced; anything at the target that is not a regular
file (a directory, FIFO, device, socket) is refused; the new file is written to a temporary file in
the target's folder (named after the target and the writing process), fsync'ed, given the old file's
mode (and owner where permitted), renamed over the target, and the folder fsync'ed. A failure removes
the temporary file; temporaries left by a killed save (their process is gone) are removed by the next
save to the same target.

Load: only regular files are opened (stat first, then open with O_NONBLOCK so a FIFO swapped in
between cannot block, then fstat again).
"""
from __future__ import annotations

import contextlib
import errno
import io
import os
import stat

_TMP_TAG = ".fgtmp"


def _kind(mode) -> str:
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "not a regular file"


def _umask() -> int:
    try:  # without touching the process umask (os.umask is racy across threads)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def resolve_target(filepath, who: str, overwrite: bool = True) -> str:
    """The real path a save will replace, after the checks on what is there now."""
    path = os.fspath(filepath)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    if not path:
        raise ValueError(f"{who}: the file path is empty")
    real = os.path.realpath(path)  # a symlink (chain) to its target: the link stays, the target is replaced
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise OSError(e.errno, f"{who}: cannot inspect {path}: {e.strerror}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, f"{who}: {path} is a directory; give a file path such as "
                                                  "model.keras")
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{who}: {path} is {_kind(st.st_mode)}, not a regular file; refusing to replace it")
        if not overwrite:
            raise FileExistsError(errno.EEXIST, f"{who}: {path} exists and overwrite=False")
    folder = os.path.dirname(real) or "."
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"{who}: the folder {folder} does not exist (saving to {path})")
    return real


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _temp_prefix(real: str) -> str:
    return "." + os.path.basename(real) + "."


def clean_stale_temps(real: str) -> list[str]:
    """Remove temporaries of earlier saves to `real` whose writing process no longer exists."""
    folder, prefix = os.path.dirname(real) or ".", _temp_prefix(real)
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(prefix) and name.endswith(_TMP_TAG)):
            continue
        parts = name[len(prefix):-len(_TMP_TAG)].split(".")
        if len(parts) != 2 or not parts[0].isdigit():
            continue
        pid = int(parts[0])
        if pid == os.getpid() or _pid_alive(pid):
            continue  # a save in progress (ours on another thread, or another process's)
        full = os.path.join(folder, name)
        try:
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                os.unlink(full)
                removed.append(full)
        except OSError:
            pass
    return removed


def _fsync(fd: int) -> None:
    os.fsync(fd)


def _fsync_dir(folder: str) -> None:
    try:
        dfd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        _fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def atomic_write(filepath, write, who: str, overwrite: bool = True) -> str:
    """Call write(binary_file) on a temporary file next to the target, then put it in the target's place.
    Returns the path written (the symlink's target where the path is a symlink)."""
    real = resolve_target(filepath, who, overwrite)
    folder = os.path.dirname(real) or "."
    clean_stale_temps(real)
    try:
        old = os.stat(real)
    except FileNotFoundError:
        old = None
    tmp = os.path.join(folder, f"{_temp_prefix(real)}{os.getpid()}.{os.urandom(4).hex()}{_TMP_TAG}")
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    try:
        with os.fdopen(fd, "w+b", closefd=False) as f:
            write(f)
            f.flush()
        if old is not None:
            os.fchmod(fd, stat.S_IMODE(old.st_mode))
            if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError, OSError):
                    os.fchown(fd, old.st_uid, old.st_gid)
                os.fchmod(fd, stat.S_IMODE(old.st_mode))  # chown may clear set-id bits: mode again
        else:
            os.fchmod(fd, 0o666 & ~_umask())  # a new file, as open() would make it
        _fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, real)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)
    return real


def open_regular(filepath, who: str, what: str = "model file"):
    """An open binary file for a regular file at `filepath` (FileNotFoundError / ValueError otherwise);
    never blocks on a FIFO and never opens a device."""
    path = os.fspath(filepath)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"{who}: no such file: {path}") from None
    except OSError as e:
        raise OSError(e.errno, f"{who}: cannot open {path}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{who}: {path} is not a {what} (it is {_kind(st.st_mode)})")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise OSError(e.errno, f"{who}: cannot open {path}: {e.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):  # replaced between the stat and the open
        os.close(fd)
        raise ValueError(f"{who}: {path} is not a {what} (it is {_kind(st.st_mode)})")
    return os.fdopen(fd, "rb")


def read_bounded(f, n: int, who: str, path: str, what: str) -> bytes:
    """Exactly n bytes from f (a short read is a damaged file)."""
    data = f.read(n)
    if len(data) != n:
        raise ValueError(f"{who}: {path} is truncated ({what}: expected {n} bytes, got {len(data)})")
    return data


def bytes_io(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)
