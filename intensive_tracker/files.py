"""Writing files that hold personal data: whole or not at all, readable by the owner only, whatever the umask.

Every file is 0600 in a folder we create 0700 (issue 12: the database, e-mail previews and the report's
folders were world-readable). `use_group("www-data")` (config `[files] group`) opens them to one group
instead: files 0640, folders 0750, owned by that group, for a web server that serves the report.

`tempfile.mkstemp` creates the file 0600 and `os.replace` keeps its mode; folders get their mode set
explicitly after `mkdir`, since the umask may have narrowed or (0o000) widened nothing. A folder that
already exists is left as it is: it may be the administrator's (`/var/www`), not ours.
"""

from __future__ import annotations

import grp
import os
import tempfile
from pathlib import Path

from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import _

_group: int | None = None  # the gid of `[files] group`, or None: owner only


def use_group(name: str | None) -> None:
    """Files and folders written from now on are open to group `name` (None: the owner only)."""
    global _group
    if name is None:
        _group = None
        return
    try:
        _group = grp.getgrnam(name).gr_gid
    except KeyError:
        raise ConfigError(_("[files] group: группы {name!r} на этой машине нет (см. /etc/group)", name=name)) from None


def file_mode() -> int:
    return 0o600 if _group is None else 0o640


def dir_mode() -> int:
    return 0o700 if _group is None else 0o750


def protect(fd_or_path: int | Path) -> None:
    """Give a file we just created its mode (and group)."""
    if isinstance(fd_or_path, int):
        os.fchmod(fd_or_path, file_mode())
        if _group is not None:
            os.fchown(fd_or_path, -1, _group)
    else:
        os.chmod(fd_or_path, file_mode())
        if _group is not None:
            os.chown(fd_or_path, -1, _group)


def make_dir(path: Path) -> None:
    """`mkdir -p` where every folder created gets 0700 (or 0750 with the group); existing ones are left alone."""
    missing = []
    for folder in [path, *path.parents]:
        if folder.exists():
            break
        missing.append(folder)
    path.mkdir(parents=True, exist_ok=True)
    for folder in reversed(missing):
        os.chmod(folder, dir_mode())
        if _group is not None:
            os.chown(folder, -1, _group)


def create_private(path: Path) -> None:
    """An empty file with our mode, if there is none yet (e.g. a SQLite database before the driver creates it)."""
    make_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        protect(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Readers never see a half-written file (the daemon renders while someone may be viewing)."""
    make_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        protect(fd)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, text: str) -> None:
    """`write_bytes_atomic` of UTF-8 text."""
    write_bytes_atomic(path, text.encode("utf-8"))
