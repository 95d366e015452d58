"""Files only the account running Rapport may read: the data folder, keys, database, anchors.

Every file Rapport creates that holds secrets or records is created with owner-only
permissions from the start (not tightened afterwards, which would leave a moment in
which another account on the server could open it), and ``rapport check --deploy``
reports any of them that group or others can read (:mod:`rapport.security.checks`).
Free of Django, so the ``rapport`` command can use it before settings load.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TextIO

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_GROUP_OR_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def make_private_dir(path: Path) -> None:
    """Create the folder ``path`` (and missing parents) readable by the owner only.

    An existing folder is left as it is; ``rapport check --deploy`` reports it if loose.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE)
    except FileExistsError:
        return
    # mkdir's mode is masked by the umask; set it exactly.
    path.chmod(PRIVATE_DIR_MODE)


def write_new_private_file(path: Path, text: str) -> None:
    """Create ``path`` holding ``text``, owner-only; never overwrites an existing file."""
    make_private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def ensure_private_file(path: Path) -> None:
    """Create ``path`` empty and owner-only if it does not exist yet (an SQLite database
    then takes over these permissions, and gives them to its -wal and -shm files)."""
    make_private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    os.close(descriptor)


def open_private_for_append(path: Path) -> TextIO:
    """``path`` opened for appending text, created owner-only if it does not exist."""
    make_private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE_MODE)
    return os.fdopen(descriptor, "a", encoding="utf-8")


def readable_by_others(path: Path) -> bool:
    """Whether group or other accounts have any permission on ``path``."""
    return bool(path.stat().st_mode & _GROUP_OR_OTHERS)
