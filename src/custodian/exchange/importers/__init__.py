"""Readers for other tools' exports. Each turns a file into `ImportItem`s for the import
use case (`custodian.service.imports`); none touches the database.

- `kdbx.read_kdbx`: KeePass 3.1/4 databases (pykeepass).
- `tabular.read_csv`: CSV with a column mapping or a preset (Bitwarden, Hudu, IT Glue).
- `tabular.read_bitwarden_json`: Bitwarden's unencrypted JSON export.
- `item.ImportItem`: one credential as a reader produced it; `item.guess_kind`.
"""

from ._common import Parsed, Rule, clean_name, parse_kind_map
from .item import ImportItem, guess_kind
from .kdbx import read_kdbx
from .tabular import read_csv

__all__ = [
    "ImportItem",
    "Parsed",
    "Rule",
    "clean_name",
    "guess_kind",
    "parse_kind_map",
    "read_csv",
    "read_kdbx",
]
