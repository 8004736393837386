"""`custodian serve`: the team server between technicians and the database.

    app.py       the ASGI application (Starlette): the routes, the probes
    base.py      what every route shares: the bearer token, the signing slot's lease
    login.py     logging in: the locked bundle, a challenge, a token
    reveals.py   the log feed and the reveal
    writes.py    new versions and the listings
    http.py      JSON bodies, errors as statuses, size limits, the request log
    tokens.py    login challenges and session tokens, MACed with the shared server secret
    throttle.py  failed logins per address and account
    slot.py      the signing slot: one prepare-to-commit at a time per process
    openapi.py   the API document served at /v1/openapi.json
    run.py       listening (uvicorn), TLS, the secret file

The server holds the database and no private key: it authenticates members by their
Ed25519 keys and appends every access event, signed by the member's client, before any
ciphertext leaves. Clients verify everything it sends (`custodian.remote`). See
docs/server.md.

May import: the public `custodian.service` API, `errors`, `secret`; never a front end.
"""
