"""Writing a secret to a file: mode 0600 from its creation, never over an existing file
unless asked (`get --out`, the TUI's save). Shared by both front ends."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UsageError


def check_out_target(path: Path, force: bool) -> None:
    """Refuse before anything is revealed: the file exists (without --force), or its
    folder does not."""
    if path.exists() and not force:
        raise UsageError(f"{path} already exists: choose another file, or --force")
    if not path.parent.is_dir():
        raise UsageError(f"no directory {path.parent}")


def write_private_file(path: Path, data: bytes, force: bool) -> None:
    """Write `data` to `path`, mode 0600 from its creation; an existing file is replaced
    only with `force` (and made 0600 first)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        if force and path.exists():
            os.chmod(path, 0o600)
        fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        raise UsageError(f"{path} already exists: choose another file, or --force") from None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)
