"""Files as secrets: reading one for `cred add|set --file` (writing: `custodian.files`)."""

from __future__ import annotations

import os
from pathlib import Path

from .. import MAX_FIELD_BYTES, Secret, UsageError
from ._io import BEYOND_ANY_VAULT


def read_file_secret(path: Path) -> Secret:
    """A file's bytes as a file field; refused before reading when it is larger than any
    vault's field limit may be (the vault's own limit is the service's to check)."""
    try:
        with path.open("rb") as f:
            if os.fstat(f.fileno()).st_size > MAX_FIELD_BYTES:
                raise UsageError(f"{path} is larger than {BEYOND_ANY_VAULT}")
            data = f.read(MAX_FIELD_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_FIELD_BYTES:
        raise UsageError(f"{path} is larger than {BEYOND_ANY_VAULT}")
    if not data:
        raise UsageError(f"{path} is empty")
    return Secret.from_bytes(data)
