"""Readers for other tools' exports. Each turns a file into `ImportItem`s for
`ActorSession.import_items`; none touches the database.

- `kdbx.read_kdbx`: KeePass 3.1/4 databases (pykeepass).
- `tabular.read_csv`: CSV with a column mapping or a preset (Bitwarden, Hudu, IT Glue).
- `tabular.read_bitwarden_json`: Bitwarden's unencrypted JSON export.
"""

from ._common import Parsed, Rule

__all__ = ["Parsed", "Rule"]
