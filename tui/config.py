"""The TUI's settings, with time injectable: tests pass a clock instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TuiConfig:
    idle_lock: timedelta = timedelta(minutes=5)  # lock after this long without a key or click
    reveal_for: timedelta = timedelta(seconds=10)  # a revealed secret hides again after this
    clipboard_for: timedelta = timedelta(seconds=30)  # a copied secret is cleared after this
    clock: Clock = field(default=utcnow)
    tick_seconds: float = 1.0  # how often deadlines (idle, reveal, clipboard, TOTP) are checked
    use_session_cache: bool = True  # start unlocked when `custodian unlock` cached a session
    result_limit: int = 200  # rows shown per list; refine the search to see others
    log_page: int = 200  # access-log rows fetched per page
    local_clipboard: bool = True  # also copy with wl-copy/xclip/xsel/pbcopy where one works
    export_dir: Path | None = None  # the log export's default directory (export_directory())


def export_directory(configured: Path | None) -> Path:
    """Where exports go by default: `configured`, else the user's downloads directory,
    else their documents directory, else their home (never the current directory)."""
    if configured is not None:
        return configured
    import platformdirs

    for found in (platformdirs.user_downloads_dir(), platformdirs.user_documents_dir()):
        if Path(found).is_dir():
            return Path(found)
    return Path.home()
