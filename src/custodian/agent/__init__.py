"""The session agent: one unlocked session kept across commands.

    names.py   what both sides agree on: slot id, runtime dir, socket path, limits (stdlib)
    client.py  `custodian get` through a running agent, and `stop` (stdlib only)
    server.py  the agent itself (`python -m custodian.agent.server`), started by `unlock`
    cache.py   the sealed session file + OS keyring token that `unlock` leaves behind

May import: `custodian.crypto`, `errors`, `clock`, `secret`, `location` and the public
`custodian.service` API (`Custodian`, `ActorSession`). Nothing here imports `cli` or the
TUI, and storage only through the service.

This file imports nothing: `custodian get` imports `custodian.agent.client`, which runs
this file first, and must stay stdlib only (tests/agent/test_cold_get.py).
"""
