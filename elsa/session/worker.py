"""The background search of a labelling session: the next round is computed in a thread as
soon as the last pending item is answered, so the person rarely waits for it."""

from __future__ import annotations

import logging
import threading
import time
import traceback

from ..exceptions import ElsaError

log = logging.getLogger("elsa.session")


class Background:
    """Runs ``session.advance()`` whenever nothing is pending, until closed. It reads the
    session's ``pending()``, ``finished()``, ``status`` and ``n_pending``, and sets
    ``status`` and ``message`` when a round fails.

    A failed round sets the session's status to ``error`` with a message (the answers are
    saved; :meth:`retry` tries again); it never takes the labeller down.
    """

    def __init__(self, session):
        self.session = session
        self.wake = threading.Condition()
        self.thread: threading.Thread | None = None
        self.closed = False

    @property
    def running(self) -> bool:
        return self.thread is not None

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._work, name="elsa-search", daemon=True)
            self.thread.start()
        self.notify()

    def notify(self) -> None:
        with self.wake:
            self.wake.notify_all()

    def close(self) -> None:
        self.closed = True
        self.notify()
        if self.thread is not None:
            self.thread.join(timeout=60)

    def wait_for_batch(self, timeout: float | None):
        """The pending items; while this search computes the next round, waits for it (up to
        ``timeout`` seconds: the page's long poll). Never computes a round itself."""
        return self._wait(timeout) if self.running else self.session.pending()

    def next_batch(self, timeout: float | None = None):
        """The items to label now; computes the next round first when none is pending (or,
        while this search runs, waits up to ``timeout`` seconds for it instead)."""
        return self._wait(timeout) if self.running else self.session.advance()

    def _wait(self, timeout: float | None):
        """The pending items, waiting (up to ``timeout`` seconds) for the round being computed."""
        s = self.session
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.wake:
            while True:
                batch = s.pending()
                if len(batch) or s.finished() or s.status == "error" or self.closed:
                    return batch
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return batch
                self.wake.wait(0.05 if left is None else min(left, 0.05))

    def _idle(self) -> bool:
        s = self.session
        return s.status == "error" or s.finished() or s.n_pending > 0

    def _work(self) -> None:
        s = self.session
        while not self.closed:
            with self.wake:
                while not self.closed and self._idle():
                    self.wake.wait(1.0)
            if self.closed:
                return
            try:
                s.advance()
            except ElsaError as exc:
                s.status, s.message = "error", f"the search failed: {exc}; your answers are saved"
                log.error("round failed: %s", exc)
            except Exception as exc:  # a bug in a sampler must not take the labeller down
                s.status, s.message = "error", f"the search failed ({type(exc).__name__}: {exc}); your answers are saved"
                log.error("round failed:\n%s", traceback.format_exc())
            self.notify()
