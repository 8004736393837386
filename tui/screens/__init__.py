"""One screen per job; each calls the service only from workers (no I/O in a screen).

May import: the public API of `custodian`, the app's widgets and its own modules.
"""
