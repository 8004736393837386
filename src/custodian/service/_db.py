"""One database handle: transactions, and SQLAlchemy's errors translated at the boundary."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session

from ..errors import BackendUnavailable, CustodianError


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._atomic = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any error. Inside
        `atomic()` on the same thread it joins that one transaction instead."""
        outer: Session | None = getattr(self._atomic, "session", None)
        if outer is not None:
            yield outer
            return
        session = Session(self.engine, expire_on_commit=False)
        try:
            with _translated():
                yield session
                session.commit()
        except BaseException:
            _rollback(session)
            raise
        finally:
            session.close()

    @contextmanager
    def core_transaction(self) -> Iterator[Connection]:
        """One unit of work on a bare Core connection: no ORM session, no identity map.
        For the hot paths (a reveal) whose statements are all Core; same commit and
        error rules as `transaction()`, and it too joins an enclosing `atomic()`."""
        outer: Session | None = getattr(self._atomic, "session", None)
        if outer is not None:
            yield outer.connection()
            return
        with _translated(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def atomic(self) -> Iterator[Session]:
        """One transaction that every `transaction()` of this thread joins until the
        block ends: a bulk operation (an import) commits whole or not at all."""
        if getattr(self._atomic, "session", None) is not None:
            raise RuntimeError("Database.atomic() does not nest")
        with self.transaction() as tx:
            self._atomic.session = tx
            try:
                yield tx
            finally:
                self._atomic.session = None

    def joined(self) -> bool:
        """Whether a `transaction()` opened now would join an enclosing `atomic()`."""
        return getattr(self._atomic, "session", None) is not None

    def close(self) -> None:
        self.engine.dispose()


def _rollback(session: Session) -> None:
    """Roll back after an error without hiding it: when the connection itself was lost
    (server restarted, backend terminated, network gone), the rollback fails too, and the
    server has already discarded the transaction; the first error is the one to report."""
    try:
        session.rollback()
    except SQLAlchemyError:
        session.invalidate()


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except CustodianError:
        raise
    except SQLAlchemyError as exc:
        raise _translate(exc) from exc


def _translate(exc: SQLAlchemyError) -> CustodianError:
    # Only the exception class and the driver's first line reach the user: statements
    # and bound parameters (which may carry sealed data) never do.
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        first = str(exc.orig).strip().splitlines()[0][:200] if str(exc.orig).strip() else ""
        return BackendUnavailable(f"database error ({type(exc.orig).__name__}): {first}")
    return BackendUnavailable(f"database error ({type(exc).__name__})")
