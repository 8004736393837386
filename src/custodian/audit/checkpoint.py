"""Checkpoints: signed lines naming the log's head, kept outside the database.

An admin or auditor issues one after a verification succeeded (`custodian log
checkpoint`); a later verification checks the log against it, so a log rewritten or cut
back since is caught even by someone who could rewrite the database (docs/audit-format.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from ..crypto import SigningKey, verify_signature
from ..errors import UsageError
from ..records import CheckpointInfo

CHECKPOINT_PREFIX = "custodian-checkpoint v1"
CHECKPOINT_TAG = b"custodian-checkpoint-v1\x00"


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the log had `seq` events ending in `head` at `at`."""

    vault_id: str
    seq: int
    head: bytes
    at: datetime
    signer: str
    key: bytes
    signature: bytes

    def body(self) -> str:
        return (
            f"{CHECKPOINT_PREFIX} vault={self.vault_id} seq={self.seq} head={self.head.hex()}"
            f" at={self.at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
            f" signer={quote(self.signer, safe='')} key={self.key.hex()}"
        )

    def line(self) -> str:
        return f"{self.body()} sig={self.signature.hex()}"

    @classmethod
    def make(
        cls, vault_id: str, seq: int, head: bytes, at: datetime, signer: str, key: SigningKey
    ) -> Checkpoint:
        unsigned = cls(
            vault_id, seq, head, at.replace(microsecond=0), signer, key.public_bytes(), b""
        )
        signature = key.sign(CHECKPOINT_TAG + unsigned.body().encode())
        return cls(vault_id, seq, head, unsigned.at, signer, unsigned.key, signature)

    @classmethod
    def parse(cls, line: str) -> Checkpoint:
        """Parse and check the line's own signature; UsageError if it is not a valid one."""
        if not line.startswith(CHECKPOINT_PREFIX + " "):
            raise UsageError("not a custodian checkpoint line")
        try:
            parts = dict(p.split("=", 1) for p in line[len(CHECKPOINT_PREFIX) + 1 :].split())
            cp = cls(
                parts["vault"],
                int(parts["seq"]),
                bytes.fromhex(parts["head"]),
                datetime.strptime(parts["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
                unquote(parts["signer"]),
                bytes.fromhex(parts["key"]),
                bytes.fromhex(parts["sig"]),
            )
        except (KeyError, ValueError):
            raise UsageError("a checkpoint line is malformed") from None
        if len(cp.head) != 32 or cp.seq < 0:
            raise UsageError("a checkpoint line is malformed")
        if not verify_signature(cp.key, cp.signature, CHECKPOINT_TAG + cp.body().encode()):
            raise UsageError(f"the checkpoint at seq {cp.seq} carries a bad signature")
        return cp

    def info(self) -> CheckpointInfo:
        return CheckpointInfo(self.seq, self.head.hex(), self.at, self.signer, self.line())


def read_checkpoints(text: str) -> list[Checkpoint]:
    """Every checkpoint line in `text` (other lines, e.g. an email's, are ignored)."""
    found = [
        Checkpoint.parse(line.strip())
        for line in text.splitlines()
        if line.strip().startswith(CHECKPOINT_PREFIX)
    ]
    if not found:
        raise UsageError("the checkpoint file holds no checkpoint line")
    return found
