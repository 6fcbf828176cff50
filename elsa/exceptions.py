"""Typed errors. Every message names the bad value and says what was expected.

The command line maps :class:`ParameterError` to exit status 2 (a usage error) and
every other :class:`ElsaError` to exit status 1; tracebacks are never shown for them.
"""

from __future__ import annotations


class ElsaError(Exception):
    """Base class of every error ELSA raises on purpose."""

    exit_code = 1


class ParameterError(ElsaError, ValueError):
    """An option or argument has a value outside what it accepts (a usage error)."""

    exit_code = 2


class InputError(ElsaError, ValueError):
    """Input data (an array, a file, a folder) is malformed or unusable."""


class EmptyPoolError(InputError):
    """There is nothing to search: no items, or no images in a folder."""


class MissingDependencyError(ElsaError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class ConflictError(ElsaError):
    """An answer arrived for an item whose label changed since the answerer saw it.

    The first answer wins; ``item`` and ``current`` (its label now, or None) say what
    happened, so a client can show it.
    """

    def __init__(self, message: str, *, item: int | None = None, current: str | None = None):
        super().__init__(message)
        self.item = item
        self.current = current


class StorageError(ElsaError):
    """The session file could not be written (disk full, read-only, locked); earlier answers are safe."""
