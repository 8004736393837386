"""The safe crypto API: sealing, context binding, passphrase locks and their floor."""

from __future__ import annotations

import struct

import pytest

from custodian.crypto import (
    Context,
    KdfParams,
    KeyPair,
    PassphraseLock,
    WrongPassphrase,
    new_symmetric_key,
    open_sealed,
    open_with_key,
    seal,
    seal_with_key,
)
from custodian.errors import AuthenticationFailed, IntegrityError

CTX = Context.of("secret", customer=1, credential=2, version=3, key_version=1)
LOCK_CTX = Context.of("technician-key", technician=1, username="alice")
PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def key() -> KeyPair:
    return KeyPair.generate()


def test_seal_round_trip(key: KeyPair) -> None:
    blob = seal(b"hunter2", key.public_key, CTX)
    assert b"hunter2" not in blob
    assert open_sealed(blob, key, CTX) == b"hunter2"


def test_sealing_twice_gives_different_blobs(key: KeyPair) -> None:
    assert seal(b"x", key.public_key, CTX) != seal(b"x", key.public_key, CTX)


@pytest.mark.parametrize("position", [0, 1, 2, 100, 1100, -1])
def test_a_flipped_bit_fails_to_open(key: KeyPair, position: int) -> None:
    blob = bytearray(seal(b"hunter2", key.public_key, CTX))
    blob[position] ^= 0x01
    with pytest.raises(IntegrityError):
        open_sealed(bytes(blob), key, CTX)


def test_a_truncated_blob_fails_to_open(key: KeyPair) -> None:
    blob = seal(b"hunter2", key.public_key, CTX)
    for cut in (0, 1, 2, 50, len(blob) - 1):
        with pytest.raises(IntegrityError):
            open_sealed(blob[:cut], key, CTX)


def test_a_wrong_key_fails_to_open(key: KeyPair) -> None:
    blob = seal(b"hunter2", key.public_key, CTX)
    with pytest.raises(IntegrityError):
        open_sealed(blob, KeyPair.generate(), CTX)


@pytest.mark.parametrize(
    "other",
    [
        Context.of("secret", customer=9, credential=2, version=3, key_version=1),
        Context.of("secret", customer=1, credential=9, version=3, key_version=1),
        Context.of("secret", customer=1, credential=2, version=9, key_version=1),
        Context.of("secret", customer=1, credential=2, version=3, key_version=9),
        Context.of("customer-key", customer=1, credential=2, version=3, key_version=1),
    ],
    ids=["customer", "credential", "version", "key-version", "purpose"],
)
def test_a_blob_opened_in_another_context_fails(key: KeyPair, other: Context) -> None:
    blob = seal(b"hunter2", key.public_key, CTX)
    with pytest.raises(IntegrityError):
        open_sealed(blob, key, other)


def test_integrity_errors_carry_no_plaintext_or_key(key: KeyPair) -> None:
    blob = seal(b"hunter2", key.public_key, CTX)
    with pytest.raises(IntegrityError) as info:
        open_sealed(blob[:-1] + bytes([blob[-1] ^ 1]), key, CTX)
    text = str(info.value) + repr(info.value)
    assert "hunter2" not in text
    assert key.private_bytes().hex() not in text


def test_key_pair_repr_shows_no_private_half(key: KeyPair) -> None:
    assert key.private_bytes().hex()[:16] not in repr(key)
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(key)


def test_passphrase_lock_round_trip() -> None:
    blob = PassphraseLock(KdfParams.floor()).lock(b"private", PASSPHRASE, LOCK_CTX)
    assert PassphraseLock.params_of(blob) == KdfParams.floor()
    assert PassphraseLock.unlock(blob, PASSPHRASE, LOCK_CTX) == b"private"
    with pytest.raises(WrongPassphrase):
        PassphraseLock.unlock(blob, "wrong passphrase", LOCK_CTX)
    with pytest.raises(WrongPassphrase):
        PassphraseLock.unlock(blob, PASSPHRASE, Context.of("technician-key", technician=2))


def test_a_wrong_passphrase_is_custodians_authentication_error_and_names_no_secret() -> None:
    blob = PassphraseLock(KdfParams.floor()).lock(b"private", PASSPHRASE, LOCK_CTX)
    with pytest.raises(AuthenticationFailed) as caught:
        PassphraseLock.unlock(blob, "wrong passphrase", LOCK_CTX)
    assert type(caught.value) is WrongPassphrase
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "wrong passphrase" not in str(caught.value) and PASSPHRASE not in str(caught.value)


def test_locking_below_the_floor_is_refused() -> None:
    with pytest.raises(ValueError):
        PassphraseLock(KdfParams(memory_kib=1024, iterations=1, lanes=1)).lock(
            b"private", PASSPHRASE, LOCK_CTX
        )


# Header: version (B), kdf id (B), memory KiB (I), iterations (I), lanes (I), salt, nonce.
@pytest.mark.parametrize(
    ("offset", "value"),
    [(2, 8 * 1024), (6, 1), (10, 1)],
    ids=["memory", "iterations", "lanes"],
)
def test_a_lock_rewritten_below_the_floor_is_refused(offset: int, value: int) -> None:
    blob = bytearray(PassphraseLock(KdfParams.floor()).lock(b"private", PASSPHRASE, LOCK_CTX))
    blob[offset : offset + 4] = struct.pack(">I", value)
    with pytest.raises(IntegrityError, match="out of bounds"):
        PassphraseLock.unlock(bytes(blob), PASSPHRASE, LOCK_CTX)


def test_passphrase_locks_opened_from_several_threads_at_once_all_finish():
    """Argon2id started from several threads at once hung inside OpenSSL's thread pool;
    derivations now run one at a time per process."""
    import threading

    from custodian.crypto import Context, KdfParams, PassphraseLock

    ctx = Context.of("test")
    blob = PassphraseLock(KdfParams.floor()).lock(b"payload", "a passphrase", ctx)
    opened: list[bytes] = []
    threads = [
        threading.Thread(
            target=lambda: opened.append(PassphraseLock.unlock(blob, "a passphrase", ctx))
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert opened == [b"payload"] * 4


SESSION_CTX = Context.of("session", slot="0" * 32, expires="2026-01-01T00:00:00+00:00")


def test_seal_with_key_round_trip() -> None:
    key = new_symmetric_key()
    blob = seal_with_key(key, b"bundle", SESSION_CTX)
    assert b"bundle" not in blob and len(key) == 32
    assert open_with_key(blob, key, SESSION_CTX) == b"bundle"
    assert seal_with_key(key, b"bundle", SESSION_CTX) != blob  # a fresh nonce each time


@pytest.mark.parametrize("change", ["bit", "truncated", "key", "short key", "context"])
def test_open_with_key_fails_as_one_integrity_error(change: str) -> None:
    key = new_symmetric_key()
    blob = seal_with_key(key, b"bundle", SESSION_CTX)
    ctx = SESSION_CTX
    if change == "bit":
        blob = blob[:-1] + bytes([blob[-1] ^ 1])
    elif change == "truncated":
        blob = blob[:20]
    elif change == "key":
        key = new_symmetric_key()
    elif change == "short key":
        key = key[:16]
    else:
        ctx = Context.of("session", slot="1" * 32, expires="2026-01-01T00:00:00+00:00")
    with pytest.raises(IntegrityError) as caught:
        open_with_key(blob, key, ctx)
    assert type(caught.value) is IntegrityError
    assert key.hex() not in str(caught.value)
