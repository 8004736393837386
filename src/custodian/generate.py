"""Strong random secrets, shaped to what each kind of device accepts.

A `Policy` per system kind says how long, from which characters, and how many
character classes. The defaults (`DEFAULTS`) fit what devices accept in practice:
printers and older switches take only letters and digits, up to 16 characters; Active
Directory needs its complexity rules (characters from at least three of upper, lower,
digit, symbol, and not the account name: every class is used here); everything else
gets 24 characters. Passphrase mode joins pronounceable made-up words (no word list to
download): each word is three consonant-vowel syllables from 16 x 5 letters, about
19 bits, so the default five words carry about 95 bits.

The defaults can be changed in `generate.toml` in the user config directory
(`platformdirs.user_config_dir("custodian")`, or the file `$CUSTODIAN_GENERATE_CONFIG`):

    [printer]          # a table per kind, or [default] for every kind
    length = 12
    max_length = 16
    symbols = ""       # letters and digits only
    [active-directory]
    passphrase = true
    words = 6
"""

from __future__ import annotations

import os
import secrets
import string
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .db.models import SystemKind
from .errors import UsageError

_SYMBOLS = "!#%+-.:=?@_~"  # no quotes, backslash, space, $ or &: safe in shells and configs
_CONSONANTS = "bdfghjklmnprstvz"
_VOWELS = "aeiou"
CONFIG_ENV = "CUSTODIAN_GENERATE_CONFIG"


@dataclass(frozen=True)
class Policy:
    length: int = 24
    max_length: int | None = None
    symbols: str = _SYMBOLS
    classes: int = 4  # how many of lower, upper, digit, symbol must appear
    passphrase: bool = False
    words: int = 5

    def check(self, where: str) -> Policy:
        if not 8 <= self.length <= 256 or not 3 <= self.words <= 20:
            raise UsageError(f"{where}: length must be 8..256 and words 3..20")
        if self.max_length is not None and not 8 <= self.max_length <= 256:
            raise UsageError(f"{where}: max_length must be 8..256")
        if not 1 <= self.classes <= 4 or any(c not in string.punctuation for c in self.symbols):
            raise UsageError(f"{where}: classes must be 1..4 and symbols punctuation")
        return self


_ALNUM16 = Policy(length=16, max_length=16, symbols="", classes=3)
DEFAULTS: dict[str, Policy] = {
    SystemKind.PRINTER: _ALNUM16,
    SystemKind.SWITCH: _ALNUM16,
    SystemKind.ACTIVE_DIRECTORY: Policy(length=24, classes=4),
    # typed into a router's CLI by `rotate` (connectors/network.py): `?` asks for help
    # there and `"` ends a quoted value, so letters and digits only
    SystemKind.ROUTER: Policy(length=20, symbols="", classes=3),
}


def config_path() -> Path:
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    import platformdirs

    return Path(platformdirs.user_config_dir("custodian")) / "generate.toml"


def policy_for(kind: SystemKind | str | None, config: Path | None = None) -> Policy:
    """The default policy of `kind`, with the config file's `[default]` and `[kind]`."""
    policy = DEFAULTS.get(str(kind) if kind else "", Policy())
    path = config or config_path()
    if not path.is_file():
        return policy
    from .userconfig import read_toml

    data = read_toml(path)
    known = {f.name: f.type for f in fields(Policy)}
    for table in ("default", str(kind) if kind else None):
        values = data.get(table) if table else None
        if values is None:
            continue
        if not isinstance(values, dict) or set(values) - set(known):
            raise UsageError(f"{path}: [{table}] takes only {', '.join(known)}")
        for key, value in values.items():
            expected = bool if key == "passphrase" else str if key == "symbols" else int
            if type(value) is not expected:
                raise UsageError(f"{path}: [{table}] {key} must be {expected.__name__}")
        policy = replace(policy, **values)
    return policy.check(str(path))


def generate_password(
    kind: SystemKind | str | None = None,
    length: int | None = None,
    *,
    passphrase: bool | None = None,
    words: int | None = None,
    username: str | None = None,
    policy: Policy | None = None,
) -> str:
    """A secret for a system of `kind` by its policy; `length` (characters), `passphrase`
    and `words` override it. `username`: the secret must not contain the account name."""
    p = policy or policy_for(kind)
    if passphrase if passphrase is not None else p.passphrase:
        value = _passphrase(words or p.words, p)
    else:
        size = length or p.length
        if p.max_length is not None and size > p.max_length:
            raise UsageError(f"a {kind} accepts at most {p.max_length} characters")
        value = _password(size, p, username)
    if p.max_length is not None and len(value) > p.max_length:
        raise UsageError(
            f"a passphrase does not fit a {kind}'s {p.max_length} characters: use a password"
        )
    return value


def _password(size: int, p: Policy, username: str | None) -> str:
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits]
    if p.symbols:
        classes.append(p.symbols)
    alphabet = "".join(classes)
    need = min(p.classes, len(classes), size)
    name = username.lower() if username and len(username) >= 3 else None
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(size))
        if sum(any(c in cls for c in value) for cls in classes) < need:
            continue
        if name is not None and name in value.lower():
            continue
        return value


def _word() -> str:
    return "".join(secrets.choice(_CONSONANTS) + secrets.choice(_VOWELS) for _ in range(3))


def _passphrase(words: int, p: Policy) -> str:
    """Pronounceable words joined by `-`; with a complexity rule, one word is capitalized
    and a digit appended, so the result has upper, lower, digit and symbol."""
    if not 3 <= words <= 20:
        raise UsageError("a passphrase has 3 to 20 words")
    parts = [_word() for _ in range(words)]
    if p.classes >= 3:
        i = secrets.randbelow(words)
        parts[i] = parts[i].capitalize()
        parts[-1] += str(secrets.randbelow(10))
    return "-".join(parts)
