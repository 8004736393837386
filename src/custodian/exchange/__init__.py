"""Moving a vault's data in and out, as file formats: below the service.

- `importers/`: readers of other tools' exports (KeePass, CSV, Bitwarden JSON) that turn
  a file into `ImportItem`s; the import itself is `custodian.service.imports`.
- `backup.py`: the encrypted backup file (a consistent snapshot of every table, written,
  verified and loaded into an empty database); taking one and restoring one, with their
  access-log events and the destruction list, are `custodian.service.backups`.
- `handover.py`: a customer's handover written as a KeePass KDBX 4 file or JSON; the
  decryption it needs is the service's (`ActorSession.handover`).

May import: `custodian.crypto`, `custodian.db`, `custodian.errors`, `custodian.secret`,
`custodian.clock` and third-party readers (pykeepass). Never `custodian.service`,
`custodian.storage` or a front end.
"""
