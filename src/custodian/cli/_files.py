"""Files as secrets: reading one for `cred add|set --file`, writing one for `get --out`."""

from __future__ import annotations

import os
from pathlib import Path

from .. import MAX_FIELD_BYTES, Secret, UsageError


def read_file_secret(path: Path) -> Secret:
    """A file's bytes as a file field; refused before reading when it is too large."""
    try:
        with path.open("rb") as f:
            if os.fstat(f.fileno()).st_size > MAX_FIELD_BYTES:
                raise UsageError(f"{path} is larger than {MAX_FIELD_BYTES // 1024 // 1024} MiB")
            data = f.read(MAX_FIELD_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_FIELD_BYTES:
        raise UsageError(f"{path} is larger than {MAX_FIELD_BYTES // 1024 // 1024} MiB")
    if not data:
        raise UsageError(f"{path} is empty")
    return Secret.from_bytes(data)


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
