"""User-facing error types.

Every error a user can cause (bad path, bad layout, bad config field, corrupt file) is raised as a
:class:`SrmerError` whose message names the file, clip or field at fault and says what to do. The CLI
prints these as one clear message instead of a traceback.
"""

from __future__ import annotations


class SrmerError(Exception):
    """Base class of every error srmer raises for bad user input."""


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
            f"(`srmer list` describes each)"
        )
