"""A session's writes and the count of items waiting for an answer, kept in step.

Every change to a session goes through :meth:`Ledger.write` (one store transaction); the
parts that change what is waiting (answers, new rounds, undo) adjust :attr:`Ledger.pending`
inside it, and a write that fails recounts it from the file, so the count never drifts.
"""

from __future__ import annotations

from contextlib import contextmanager


class Ledger:
    """The writes to ``store`` (whose settings, read once, are ``settings``) and the items
    waiting for an answer (``pending``)."""

    def __init__(self, store, settings: dict):
        self.store, self.settings = store, settings
        self.pending = store.rounds.count_pending()

    @contextmanager
    def write(self, doing: str):
        """A store transaction (``doing`` names it in an error); if it fails, ``pending`` is recounted."""
        try:
            with self.store.transaction(doing) as db:
                yield db
        except BaseException:
            self.recount()
            raise

    def recount(self) -> None:
        self.pending = self.store.rounds.count_pending()

    def set_meta(self, values: dict) -> None:
        """Change settings: in the file, then in ``settings``."""
        with self.write("save the session settings") as db:
            self.store.set_meta(db, values)
        self.settings.update(values)
