"""Names a package exports but imports on first use (PEP 562), so that importing the
package (for the command line, say) does not pay for scikit-learn or scipy."""

from __future__ import annotations

from importlib import import_module


def lazy_names(package: str, where: dict[str, str], namespace: dict):
    """A module ``__getattr__`` for ``package``: name ``n`` comes from submodule ``where[n]``,
    imported when ``n`` is first read, and then kept in ``namespace`` (the package's globals)."""

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{where[name]}", package), name)
        namespace[name] = value
        return value

    return __getattr__
