"""A process killed with SIGKILL in the middle of key rotations leaves every secret
readable, under the old or the new key version: each rotation is one transaction."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from custodian.secret import SecretPayload

LOOP = Path(__file__).with_name("rotate_loop.py")
ROUNDS = 3


def every_version_opens(vault, slugs: list[str]) -> int:
    opened = 0
    for slug in slugs:
        for cred in vault.admin.list_credentials(slug):
            for version in vault.admin.history(cred.path):
                assert vault.admin.reveal(cred.path, version=version.version).reveal()
                opened += 1
    return opened


def test_sigkill_during_rotation_leaves_every_secret_readable(vault):
    vault.customer("acme")
    vault.customer("globex")
    vault.admin.set_secret("globex/dc01/admin", SecretPayload({"password": "globex-2"}))
    vault.tech("bob")
    for slug in ("acme", "globex"):
        vault.admin.grant("admin", slug)
    rng = random.Random(4)
    done: list[str] = []
    for _ in range(ROUNDS):
        proc = subprocess.Popen(
            [sys.executable, str(LOOP), vault.url], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            proc.stdin.write(vault.passphrase + "\n")
            proc.stdin.close()
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
            # Let a random number of operations commit, then kill at a random point
            # inside the next one (its expected length measured on the previous one).
            last = time.monotonic()
            for _ in range(rng.randint(1, 6)):
                done.append(proc.stdout.readline().strip())
                assert done[-1], proc.stderr.read()
                now = time.monotonic()
                span, last = now - last, now
            time.sleep(rng.uniform(0.0, span))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            out, err = proc.stdout.read(), proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL, err
        done += out.split()
        assert every_version_opens(vault, ["acme", "globex"]) >= 3
        # The organization key still reaches every customer key: granting works.
        vault.admin.grant("admin", "acme")
    # Every rotation that reported its commit is there (one killed after its commit but
    # before its report may add one more per round).
    rotations = done.count("revoke") + done.count("demote")
    versions = vault.admin.show_customer("acme").customer.key_version
    assert 1 + rotations <= versions <= 1 + rotations + ROUNDS, done
    assert rotations > 0, "no rotation committed before the kills: the test proved nothing"
