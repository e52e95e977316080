"""User-facing error types.

Every error a user can cause (bad path, bad layout, bad config field, corrupt file) is raised as a
:class:`SrmerError` whose message names the file, clip or field at fault and says what to do. The CLI
prints these as one clear message instead of a traceback.
"""

from __future__ import annotations

from typing import Any


def _rebuild(
    cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]
) -> BaseException:
    """Unpickle an error without calling its ``__init__`` (see :meth:`SrmerError.__reduce__`)."""
    err = cls.__new__(cls)
    err.args = args
    err.__dict__.update(state)
    return err


def did_you_mean(name: str, choices: Any) -> str:
    """``; did you mean 'x'?`` for the closest of ``choices`` to a misspelt ``name``, else ``""``.

    Used by every "unknown name" message (methods, options, config fields, commands), so the
    suggestion reads the same everywhere.
    """
    import difflib

    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class SrmerError(Exception):
    """Base class of every error srmer raises for bad user input.

    Errors pickle with their message and attributes intact whatever their ``__init__`` signature
    (a worker process's clear error reaches the parent as itself, not as a pool error).
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # the default reduce calls ``cls(*self.args)``, which fails for custom signatures such as
        # ClipError(clip, problem, fix): rebuild from args and attributes instead
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class DatasetError(SrmerError):
    """A dataset root, annotation sheet or clip is missing or malformed."""


class ClipError(DatasetError):
    """One clip cannot be used (missing or unreadable frames, bad annotation).

    Loaders catch these per clip, record them as skipped and go on with the other clips.
    """

    def __init__(self, clip: str, problem: str, fix: str = "") -> None:
        self.clip = clip
        self.problem = problem
        self.fix = fix
        msg = f"clip {clip}: {problem}"
        if fix:
            msg += f" ({fix})"
        super().__init__(msg)


class ConfigError(SrmerError):
    """An experiment config field is missing, misspelt or has a bad value."""


class UnknownMethodError(ConfigError):
    """A method, dataset or class-map name is not registered."""

    def __init__(self, kind: str, name: str, known: list[str] | tuple[str, ...]) -> None:
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        super().__init__(
            f"unknown {kind} {name!r}; choose one of: {', '.join(self.known)} "
            f"(`srmer list` describes each){did_you_mean(name, self.known)}"
        )


class RegistryImportError(SrmerError, ImportError):
    """A registered entry's module failed to import (or lacks the registered attribute).

    Also an :class:`ImportError`, so code that treats a missing optional dependency as "unavailable"
    keeps working; the message names the registry, the entry, the module and the import error.
    """

    def __init__(self, kind: str, entry: str, target: str, reason: str) -> None:
        self.kind = kind
        self.entry = entry
        self.target = target
        self.reason = reason
        super().__init__(
            f"{kind} {entry!r} is registered as {target!r}, but {reason}; install the missing "
            f"dependency or fix that module"
        )


class CheckpointError(SrmerError):
    """A checkpoint file is missing, unreadable, of other training or of an unexpected architecture."""
