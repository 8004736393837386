"""`ActorSession`: the public face of an unlocked technician.

A thin facade: each method hands its call to the use-case module that owns it (one module
per use case, each a set of functions over an `Actor`), so the CLI and the TUI have one
object to call and each rule has one place. Authorization rules live in `policy.py` and
`actor.py`; nothing here decides anything.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from ..crypto import KeyPair, SigningKey
from ..db.models import Role
from . import (
    access_log,
    backups,
    certification,
    credential_admin,
    credentials,
    customers,
    deletion,
    grants,
    imports,
    offboarding,
    purge,
    retirement,
    rotation,
    secret_policy,
    shredding,
    store_admin,
    store_migration,
    technicians,
)
from .actor import Actor
from .enrolment import pack_private
from .pin import Pin
from .rotator import Rotator

if TYPE_CHECKING:
    from .vault import Custodian

P = ParamSpec("P")
R = TypeVar("R")


def delegate(use_case: Callable[Concatenate[Actor, P], R]) -> Callable[Concatenate[Any, P], R]:
    """A facade method: the call goes, unchanged, to `use_case` with this session's actor
    (its signature and docstring are the use case's)."""

    @functools.wraps(use_case)
    def method(self: ActorSession, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return use_case(self._actor, *args, **kwargs)

    return method


class ActorSession:
    """An unlocked technician. Holds their private keys in memory; never prints them."""

    def __init__(
        self,
        vault: Custodian,
        technician_id: int,
        username: str,
        role: Role,
        key: KeyPair,
        signer: SigningKey,
        pin: Pin | None = None,
    ) -> None:
        self._actor = Actor(vault, technician_id, username, role, key, signer, pin)
        self.technician_id, self.username, self.role = technician_id, username, role
        self._vault, self._key, self._signer = vault, key, signer  # read by tests and benches
        if pin is not None:  # the account must be the key directory's (trust.py)
            self._actor.verify_account()

    def __repr__(self) -> str:
        return f"ActorSession(username={self.username!r}, role={self.role.value!r})"

    def export(self) -> bytes:
        """The private-key bundle, for a session cache that encrypts it."""
        return pack_private(self._actor.key, self._actor.signer, self._actor.trust.pin)

    whoami = delegate(technicians.whoami)
    preview_certification = delegate(certification.preview)
    certify_directory = delegate(certification.certify)

    # --- technicians (technicians.py) -----------------------------------------------

    add_technician = delegate(technicians.add_technician)
    list_technicians = delegate(technicians.list_technicians)
    change_passphrase = delegate(technicians.change_passphrase)
    reset_passphrase = delegate(technicians.reset_passphrase)
    set_role = delegate(technicians.set_role)
    remove_technician = delegate(technicians.remove_technician)

    # --- customers (customers.py) ---------------------------------------------------

    add_customer = delegate(customers.add_customer)
    edit_customer = delegate(customers.edit_customer)
    list_customers = delegate(customers.list_customers)
    show_customer = delegate(customers.show_customer)

    # --- grants (grants.py) ---------------------------------------------------------

    grant = delegate(grants.grant)
    revoke = delegate(grants.revoke)
    maintenance = delegate(grants.maintenance)
    rotation_list = delegate(rotation.rotation_list)

    def rotator(self) -> Rotator:  # rotation on the device (rotator.py)
        return Rotator(self._actor)

    # --- systems and credentials (credentials.py, credential_admin.py, deletion.py,
    # retirement.py) ---------------------------------------------------------------

    add_system = delegate(credentials.add_system)
    add_credential = delegate(credentials.add_credential)
    set_secret = delegate(credentials.set_secret)
    list_credentials = delegate(credentials.list_credentials)
    history = delegate(credentials.history)
    edit = delegate(credential_admin.edit)
    show_credential = delegate(credential_admin.show_credential)
    delete = delegate(deletion.delete)
    retire_credential = delegate(retirement.retire_credential)
    field_limit = delegate(secret_policy.field_limit)  # before the next line shadows it
    secret_policy = delegate(secret_policy.secret_policy)

    # --- the reveal (reveal.py; username, url, host, notes: credential_admin.py) ----

    reveal = delegate(credential_admin.read_field)

    # --- moving data in and out (imports.py, backups.py, exchange/handover.py) -------

    import_items = delegate(imports.import_items)
    backup = delegate(backups.backup)
    record_restore = delegate(backups.record_restore)
    reapply_purges = delegate(shredding.reapply_purges)
    reapply_deletions = delegate(deletion.reapply_deletions)
    hand_over = delegate(offboarding.hand_over)
    hand_over_json = delegate(offboarding.hand_over_json)

    # --- doctor and migrate (store_admin.py, store_migration.py) ----------------------

    doctor = delegate(store_admin.doctor)
    migrate = delegate(store_migration.migrate)

    # --- the access log (access_log.py) ---------------------------------------------

    events = delegate(access_log.events)
    iter_events = delegate(access_log.iter_events)
    last_seq = delegate(access_log.last_seq)
    report = delegate(access_log.report)
    alerts = delegate(access_log.alerts)
    verify_log = delegate(access_log.verify_log)
    checkpoint = delegate(access_log.checkpoint)
    harden_database = delegate(access_log.harden_database)

    # --- offboarding and destruction (offboarding.py, purge.py) ---------------------

    handover = delegate(offboarding.handover)
    offboard = delegate(offboarding.offboard)
    retention_days = delegate(offboarding.retention_days)
    customer_report = delegate(offboarding.customer_report)
    recover = delegate(purge.recover)  # before `purge` below shadows the module's name
    purge = delegate(purge.purge)
