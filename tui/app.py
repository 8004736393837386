"""`CustodianApp`: the vault's terminal UI. It holds the unlocked session, the deadlines
(idle lock, hiding revealed secrets, clearing the clipboard) and the flows screens share
(asking for a reason, revealing, copying). Screens call the service only from workers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from custodian import (
    ActorSession,
    CredentialInfo,
    Custodian,
    CustodianError,
    CustomerInfo,
    Role,
    Secret,
    SessionLocked,
)

from .clipboard import LocalClipboard
from .config import TuiConfig
from .service_features import can

if TYPE_CHECKING:
    from typing import Protocol

    from custodian.remote import RemoteSession

    class Backend(Protocol):
        """What the app runs on: the vault's database (`Custodian`), or `custodian
        serve` (`custodian.remote.RemoteVault`, --server)."""

        @property
        def url(self) -> str: ...

        def unlock(
            self, username: str, passphrase: str, *, starts_session: bool = ...
        ) -> ActorSession | RemoteSession: ...

        def resume(self, username: str, bundle: bytes, /) -> ActorSession | RemoteSession: ...


class CustodianApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "custodian"
    BINDINGS = [
        Binding("ctrl+l", "lock", "Lock", priority=True),
        Binding("f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        vault: Backend,
        username: str,
        *,
        config: TuiConfig | None = None,
        actor: ActorSession | None = None,
    ) -> None:
        super().__init__()
        self.vault = vault
        self.username = username
        self.config = config or TuiConfig()
        self.actor: ActorSession | None = actor
        self.customers: dict[str, CustomerInfo] = {}  # what the home screen last loaded
        self.last_reason: str | None = None  # remembered for the session (ticket number)
        self.last_activity = self.config.clock()
        self.clipboard_until: datetime | None = None
        self._cache_allowed = self.config.use_session_cache
        self.local_clipboard = LocalClipboard.find() if self.config.local_clipboard else None
        # One thread runs the local clipboard tool, in order: a clear never overtakes a copy.
        self._clip_thread = ThreadPoolExecutor(1, thread_name_prefix="clipboard")

    # --- lifecycle ------------------------------------------------------------------

    def on_mount(self) -> None:
        self.set_interval(self.config.tick_seconds, self.tick)
        if self.actor is not None:
            self.unlocked(self.actor)
        else:
            self.push_screen(self._unlock_screen())

    def _unlock_screen(self) -> Screen[None]:
        from .screens.unlock import UnlockScreen

        return UnlockScreen(self.username, try_cache=self._cache_allowed)

    def unlocked(self, actor: ActorSession | RemoteSession) -> None:
        from .screens.home import HomeScreen

        # A server's session offers a subset of `ActorSession`: every call it may lack is
        # asked for first (`service_features.can`/`offers`), so nothing calls what is not.
        self.actor = cast(ActorSession, actor)
        self.username = actor.username
        self.last_activity = self.config.clock()
        self.sub_title = f"{actor.username} ({actor.role.value})"
        home = HomeScreen()
        if len(self.screen_stack) > 1:
            self.switch_screen(home)
        else:
            self.push_screen(home)

    def lock(self, message: str | None = None) -> None:
        """Forget the session and every revealed secret; back to the unlock screen."""
        if self.actor is None:
            return
        self.actor = None
        self.last_reason = None
        self.customers = {}
        self._cache_allowed = False  # after a lock, only the passphrase unlocks
        self.clear_clipboard()
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(self._unlock_screen())
        self.sub_title = ""
        if message:
            self.notify(message, title="locked")

    def action_lock(self) -> None:
        self.lock("the session is locked")

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # --- time -----------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(
            event, events.Key | events.MouseDown | events.MouseScrollDown | events.MouseScrollUp
        ):
            self.last_activity = self.config.clock()
        await super().on_event(event)

    def tick(self) -> None:
        """Apply every deadline that has passed (called each `tick_seconds`, and by tests)."""
        from .widgets.secret_field import SecretField

        now = self.config.clock()
        if self.actor is not None and now - self.last_activity >= self.config.idle_lock:
            minutes = self.config.idle_lock.total_seconds() / 60
            self.lock(f"locked after {minutes:g} min without activity")
            return
        if self.clipboard_until is not None and now >= self.clipboard_until:
            self.clear_clipboard()
            self.notify("the clipboard was cleared")
        for screen in self.screen_stack:
            for field in screen.query(SecretField):
                field.tick(now)

    # --- shared flows -----------------------------------------------------------------

    @property
    def session(self) -> ActorSession:
        """The unlocked session; workers call the service through it."""
        if self.actor is None:
            raise SessionLocked("the session is locked")
        return self.actor

    @contextmanager
    def service_errors(self) -> Iterator[None]:
        """For workers: a service error becomes a notification with the service's own
        message; anything unexpected becomes one line, never a traceback."""
        try:
            yield
        except CustodianError as exc:
            self.call_from_thread(self.show_error, str(exc), exc.title)
        except Exception as exc:
            self.call_from_thread(
                self.show_error, f"internal error ({type(exc).__name__})", "error"
            )

    def show_error(self, message: str, title: str = "error") -> None:
        self.notify(message, title=title, severity="error", timeout=8)

    def with_reason(self, cred: CredentialInfo, then: Callable[[str | None], object]) -> None:
        """Ask for a reason when `cred`'s customer requires one, then call `then(reason)`;
        a cancelled prompt calls nothing."""
        from .screens.reason import ReasonScreen

        customer = self.customers.get(cred.customer)
        if customer is None or not customer.require_reason:
            then(None)
            return

        def done(reason: str | None) -> None:
            if reason:
                self.last_reason = reason
                then(reason)

        self.push_screen(ReasonScreen(cred.path, self.last_reason, customer.reason_pattern), done)

    def open_reveal(
        self,
        cred: CredentialInfo,
        *,
        version: int | None = None,
        fields: tuple[str, ...] | None = None,
    ) -> None:
        from .screens.reveal import RevealScreen

        self.with_reason(
            cred,
            lambda reason: self.push_screen(
                RevealScreen(cred, reason=reason, version=version, fields=fields)
            ),
        )

    def copy_secret(self, secret: Secret, what: str) -> None:
        """Copy through the terminal (OSC 52, works over SSH) and to the local clipboard
        where one exists (its tool reads the value on stdin); cleared after a while. A
        file field is not text: it is saved (`s` on the reveal screen), never copied."""
        if secret.is_file:
            self.notify(f"{what} is a file: save it with s on the reveal screen")
            return
        value = secret.reveal()
        self.copy_to_clipboard(value)
        if self.local_clipboard is not None:
            self._local(self.local_clipboard.copy, value)
        self.clipboard_until = self.config.clock() + self.config.clipboard_for
        seconds = self.config.clipboard_for.total_seconds()
        self.notify(f"copied {what}; the clipboard clears in {seconds:g} s")

    def clear_clipboard(self) -> None:
        if self.clipboard_until is not None:
            self.copy_to_clipboard("")
            if self.local_clipboard is not None:
                self._local(self.local_clipboard.clear)
            self.clipboard_until = None

    @dataclass
    class ClipboardFailed(Message):
        tool: str

    def _local(self, call: Callable[..., bool], *args: str) -> Future[bool]:
        tool = self.local_clipboard.name if self.local_clipboard else "?"

        def done(future: Future[bool]) -> None:  # in the clipboard thread: post, never wait
            if not future.result():
                self.post_message(self.ClipboardFailed(tool))

        future = self._clip_thread.submit(call, *args)
        future.add_done_callback(done)
        return future

    def on_custodian_app_clipboard_failed(self, message: ClipboardFailed) -> None:
        self.show_error(f"the local clipboard ({message.tool}) failed", "clipboard")

    async def action_quit(self) -> None:
        """Clear a copied secret before leaving (the local tool would keep serving it)."""
        self.clear_clipboard()
        await asyncio.to_thread(self._clip_thread.shutdown, True)
        await super().action_quit()

    # --- navigation and the command palette --------------------------------------------

    def can_use(self, screen: str) -> bool:
        from importlib.util import find_spec

        if screen in ("log", "admin") and find_spec(f"{__package__}.screens.{screen}") is None:
            return False
        role = self.actor.role if self.actor else None
        if not can(self.actor, screen):
            return False
        if screen == "admin":
            return role == Role.ADMIN
        if screen == "log":
            return role is not None
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "lock":
            return self.actor is not None
        if action in ("open_log", "open_admin"):
            return self.can_use(action.removeprefix("open_"))
        return True

    def action_open_log(self) -> None:
        from .screens.log import LogScreen

        if self.can_use("log") and not isinstance(self.screen, LogScreen):
            self.push_screen(LogScreen())

    def action_open_admin(self) -> None:
        from .screens.admin import AdminScreen

        if self.can_use("admin") and not isinstance(self.screen, AdminScreen):
            self.push_screen(AdminScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self.actor is None:
            return
        yield SystemCommand("Lock", "Forget the session now", self.action_lock)
        yield SystemCommand("Help", "Keys and screens", self.action_help)
        yield SystemCommand("Access log", "Events, filters, chart", self.action_open_log)
        if self.can_use("admin"):
            yield SystemCommand("Admin", "Technicians, customers, grants", self.action_open_admin)
        yield from getattr(screen, "commands", lambda: ())()


def make_app(
    db: str | Path | None = None,
    username: str | None = None,
    *,
    vault: Backend | None = None,
    config: TuiConfig | None = None,
    actor: ActorSession | None = None,
) -> CustodianApp:
    """The one way to build the app: the `custodian tui` command and the tests call it."""
    import getpass
    from dataclasses import replace

    from .config import export_directory

    vault = vault or Custodian.open(db)
    name = username or (actor.username if actor else None) or getpass.getuser()
    config = config or TuiConfig()
    config = replace(config, export_dir=export_directory(config.export_dir))
    return CustodianApp(vault, name, config=config, actor=actor)
