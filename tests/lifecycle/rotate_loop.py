"""Run by test_crash.py as its own process: rotates keys in a loop until killed.

    python rotate_loop.py DB_URL    (the admin's passphrase on stdin)
"""

from __future__ import annotations

import sys

from custodian.db.models import Role
from custodian.secret import SecretPayload
from custodian.service import Custodian


def main() -> None:
    passphrase = sys.stdin.readline().rstrip("\n")
    vault = Custodian.open(sys.argv[1])
    admin = vault.unlock("admin", passphrase)
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        admin.grant("bob", "acme")
        print("grant", flush=True)
        admin.revoke("bob", "acme")  # a new customer key version
        print("revoke", flush=True)
        admin.set_secret("acme/dc01/admin", SecretPayload({"password": f"loop-{i}"}))
        print("set", flush=True)
        admin.set_role("bob", Role.ADMIN)
        print("promote", flush=True)
        admin.set_role("bob", Role.TECHNICIAN)  # a new org key, every customer rotated
        print("demote", flush=True)


if __name__ == "__main__":
    main()
