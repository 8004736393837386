"""Files as secrets: reading one for `cred add|set --file` (writing: `custodian.files`)."""

from __future__ import annotations

import os
from pathlib import Path

from .. import Secret, UsageError
from ._io import over_limit


def read_file_secret(path: Path, limit: int) -> Secret:
    """A file's bytes as a file field; refused before reading when it is larger than
    `limit`, the vault's field limit."""
    try:
        with path.open("rb") as f:
            if os.fstat(f.fileno()).st_size > limit:
                raise UsageError(f"{path} is {over_limit(limit)}")
            data = f.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise UsageError(f"{path} is {over_limit(limit)}")
    if not data:
        raise UsageError(f"{path} is empty")
    return Secret.from_bytes(data)
