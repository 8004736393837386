"""Files as secrets: reading one for `cred add|set --file` (writing: `custodian.files`)."""

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
