"""Reusable widgets, each with its own DEFAULT_CSS.

May import: Textual and the public API of `custodian`; no screen.
"""
