"""One registry helper behind every name a config or ``srmer list`` can use.

A :class:`Registry` maps names to *targets*: a class, a function or any object, given directly or as
a lazy ``"module:attr"`` string imported on first use (so a heavy or broken optional module costs
nothing until its entry is asked for). The five registries of srmer, by kind:

============================  =============================================
``"dataset"``                 :data:`srmer.data.registry.DATASETS`
``"degradation"``             :data:`srmer.degrade.registry.DEGRADATIONS`
``"SR architecture"``         :data:`srmer.sr.registry.ARCHS`
``"SR method"``               :data:`srmer.sr.methods.SR_METHODS`
``"MER method"``              :data:`srmer.mer.registry.MER_METHODS`
============================  =============================================

:func:`all_registries` returns them (imported lazily); :func:`describe_all` and
:func:`format_listing` give the rows and text ``srmer list`` shows: name, one-line description,
options and their defaults.

This module imports nothing of srmer except :mod:`srmer.errors` (it is the bottom layer of the
import contract in ``pyproject.toml``); the registries' modules are named by strings.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from srmer.errors import (
    ConfigError,
    RegistryImportError,
    SrmerError,
    UnknownMethodError,
    did_you_mean,
)

__all__ = [
    "REGISTRIES",
    "REQUIRED",
    "Entry",
    "Registry",
    "all_registries",
    "describe_all",
    "format_listing",
]


class _Required:
    """Marker of an option without a default (shown as ``<required>``)."""

    _instance: _Required | None = None

    def __new__(cls) -> _Required:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<required>"

    def __reduce__(self) -> str:
        return "REQUIRED"


#: the default shown for an option that has none
REQUIRED = _Required()


class Entry(NamedTuple):
    """One registration: the target (object or ``"module:attr"``) and its one-line description."""

    target: Any
    description: str = ""


def _first_line(text: str | None) -> str:
    for line in (text or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _signature_options(target: Any, skip: Iterable[str] = ()) -> tuple[dict[str, Any], bool]:
    """``(options, takes_more)``: keyword parameters of ``target`` with defaults, and ``**kwargs``."""
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):  # builtins without a signature
        return {}, True
    skip = set(skip)
    options: dict[str, Any] = {}
    more = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            more = True
        elif p.kind is p.VAR_POSITIONAL or p.name in skip:
            continue
        else:
            options[p.name] = REQUIRED if p.default is p.empty else p.default
    return options, more


class Registry:
    """Names -> targets of one kind (datasets, degradations, SR methods...), imported lazily.

    Parameters
    ----------
    kind : str
        What an entry is, for messages and listings (``"SR method"``, ``"dataset"``).
    factory : callable, optional
        ``factory(target, **options)`` used by :meth:`create`; default ``target(**options)``.
    options_of : callable, optional
        ``options_of(target) -> (dict, more) | None``: option names and defaults, and whether the
        target accepts options beyond them, for targets that take ``**options`` and declare them
        elsewhere (e.g. class attributes); ``None`` falls back to the default: a declared
        ``defaults`` (or ``options``) dict attribute of the target, else its signature.
    skip : iterable of str
        Parameters that are not listed as options but are always accepted (e.g. a loader's
        ``root``, an architecture's ``scale``).
    cheap : bool
        Whether ``create`` is cheap (constructors only check their options); :meth:`validate` then
        builds the object to check option values too, else it checks option names only.
    validator : callable, optional
        ``validator(target, **options)``: a cheap check of the values used by :meth:`validate`
        instead of building (e.g. building an SR network on the ``meta`` device).
    populate : callable, optional
        ``populate() -> iterable of (name, target, description)``, called once on first lookup to
        add entries found at run time (e.g. SR architecture specs collected from modules). An
        error it raises propagates (and it runs again on the next lookup): no silent gap.
    info : callable, optional
        ``info(target) -> dict`` of extra fields for :meth:`describe` (e.g. scale support).
    term : str
        What messages call an option (``"option"``; degradations say ``"parameter"``).

    Notes
    -----
    A registry behaves like a read-only mapping of names: ``name in reg``, ``for name in reg``,
    ``sorted(reg)``, ``len(reg)`` and ``reg[name]`` (the resolved target, as :meth:`get`);
    ``reg.items()`` gives ``(name, Entry)`` pairs without importing anything.
    """

    def __init__(
        self,
        kind: str,
        *,
        factory: Callable[..., Any] | None = None,
        options_of: Callable[[Any], tuple[Mapping[str, Any], bool] | None] | None = None,
        skip: Iterable[str] = (),
        cheap: bool = True,
        populate: Callable[[], Iterable[tuple[str, Any, str]]] | None = None,
        info: Callable[[Any], Mapping[str, Any]] | None = None,
        term: str = "option",
        validator: Callable[..., Any] | None = None,
    ) -> None:
        self.kind = kind
        self.term = term
        self._factory = factory
        self._options_of = options_of
        self._skip = tuple(skip)
        self.cheap = cheap
        self._populate = populate
        self._populated = populate is None
        self._info = info
        self._validator = validator
        self._entries: dict[str, Entry] = {}
        self._declared: dict[str, dict[str, Any]] = {}
        self._resolved: dict[str, Any] = {}

    # ------------------------------------------------------------------ registration
    def register(
        self,
        name: str,
        target: Any,
        description: str = "",
        *,
        options: Mapping[str, Any] | None = None,
    ) -> Any:
        """Add (or replace) entry ``name``.

        Parameters
        ----------
        name : str
            The name configs use.
        target : object or str
            The class/function/object, or ``"module:attr"`` imported on first :meth:`get`.
        description : str
            One line for ``srmer list``; default: the target's ``description`` attribute or the
            first line of its docstring.
        options : mapping, optional
            Option names and defaults, when neither a declared ``defaults`` attribute nor the
            signature says them.

        Returns
        -------
        object
            ``target`` (so ``register`` can be used inline).
        """
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{self.kind} names must be non-empty strings, got {name!r}")
        if isinstance(target, str) and (target.count(":") != 1 or not all(target.split(":"))):
            raise ConfigError(
                f"{self.kind} {name!r}: target {target!r} must be 'module:attr' "
                f"(e.g. 'mypackage.loaders:load_mine') or the object itself"
            )
        self._entries[name] = Entry(target, description)
        self._resolved.pop(name, None)
        if options is not None:
            self._declared[name] = dict(options)
        else:
            self._declared.pop(name, None)
        return target

    def unregister(self, name: str) -> None:
        """Remove entry ``name`` (unknown names raise :class:`UnknownMethodError`)."""
        self._entry(name)
        del self._entries[name]
        self._resolved.pop(name, None)
        self._declared.pop(name, None)

    def _fill(self) -> None:
        if self._populated:
            return
        self._populated = True
        try:
            found = list(self._populate())  # type: ignore[misc]
        except BaseException:
            self._populated = False
            raise
        for name, target, description in found:
            if name not in self._entries:  # first one wins (explicit registrations too)
                self._entries[name] = Entry(target, description)

    # ------------------------------------------------------------------ lookup
    def names(self) -> list[str]:
        """Registered names, in registration order."""
        self._fill()
        return list(self._entries)

    keys = names

    def items(self) -> list[tuple[str, Entry]]:
        """``(name, Entry(target, description))`` pairs; nothing is imported."""
        self._fill()
        return list(self._entries.items())

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        self._fill()
        return name in self._entries

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"

    def _entry(self, name: str) -> Entry:
        self._fill()
        if not isinstance(name, str) or name not in self._entries:
            raise UnknownMethodError(self.kind, str(name), list(self._entries))
        return self._entries[name]

    def entry(self, name: str) -> Entry:
        """The registration of ``name`` (its target unresolved)."""
        return self._entry(name)

    def get(self, name: str) -> Any:
        """The target registered as ``name``, importing its module on first use.

        Raises
        ------
        UnknownMethodError
            ``name`` is not registered (the message lists the known names).
        RegistryImportError
            The target's module failed to import, or lacks the attribute (the message names the
            entry, the module and the error).
        """
        if name in self._resolved:
            return self._resolved[name]
        target = self._entry(name).target
        if isinstance(target, str):
            target = self._import(name, target)
        self._resolved[name] = target
        return target

    def _import(self, name: str, target: str) -> Any:
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # any failure while importing: say which module and why
            raise RegistryImportError(
                self.kind,
                name,
                target,
                f"module {module_name!r} failed to import ({type(exc).__name__}: {exc})",
            ) from exc
        try:
            return getattr(module, attr)
        except AttributeError as exc:
            raise RegistryImportError(
                self.kind, name, target, f"module {module_name!r} has no attribute {attr!r}"
            ) from exc

    # ------------------------------------------------------------------ building
    def _check_names(self, name: str, target: Any, options: Mapping[str, Any]) -> None:
        known, more = self._options(name, target)
        unknown = sorted(set(options) - set(known) - set(self._skip))
        if unknown and not more:
            hint = did_you_mean(unknown[0], known)
            raise ConfigError(
                f"{self.kind} {name!r}: unknown {self.term}(s) {', '.join(unknown)}; "
                f"known {self.term}s: {', '.join(sorted(known)) or '(none)'}{hint}"
            )

    def create(self, name: str, **options: Any) -> Any:
        """Build entry ``name`` with ``options`` (``target(**options)`` unless a factory is set).

        Option names the target's signature or declared options do not know raise
        :class:`~srmer.errors.ConfigError` before anything is built.
        """
        target = self.get(name)
        self._check_names(name, target, options)
        if self._factory is not None:
            return self._factory(target, **options)
        return target(**options)

    def validate(self, name: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Check ``options`` for entry ``name`` without doing heavy work.

        Option names are checked against the declared options or the signature; for registries
        whose constructors are cheap (``cheap=True``: they only check their options) the object is
        built too, so bad values are caught the same way a run would catch them; a registry's
        ``validator`` replaces the build by a cheap check.

        Returns
        -------
        dict
            The options with the known defaults filled in.

        Raises
        ------
        UnknownMethodError, ConfigError
            Unknown name, unknown option or (cheap registries) bad value; the message names it.
        """
        options = dict(options or {})
        target = self.get(name)
        self._check_names(name, target, options)
        if self.cheap or self._validator is not None:
            try:
                if self._validator is not None:
                    self._validator(target, **options)
                elif self._factory is not None:
                    self._factory(target, **options)
                else:
                    target(**options)
            except SrmerError:
                raise
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{self.kind} {name!r}: bad {self.term} ({exc})") from exc
        known, _ = self._options(name, target)
        return {**{k: v for k, v in known.items() if v is not REQUIRED}, **options}

    # ------------------------------------------------------------------ description
    def _options(self, name: str, target: Any) -> tuple[dict[str, Any], bool]:
        """``(options, takes_more)`` of ``target``: declared, hook, ``defaults`` attribute, signature."""
        if name in self._declared:
            return dict(self._declared[name]), False
        if self._options_of is not None:
            found = self._options_of(target)
            if found is not None:
                return dict(found[0]), bool(found[1])
        for attr in ("defaults", "options"):
            declared = getattr(target, attr, None)
            if isinstance(declared, Mapping):
                return dict(declared), False
        return _signature_options(target, self._skip)

    def description(self, name: str) -> str:
        """One-line description of ``name`` (given at registration, else the target's)."""
        entry = self._entry(name)
        if entry.description:
            return entry.description
        target = self.get(name)
        desc = getattr(target, "description", None)
        if isinstance(desc, str) and desc:
            return desc
        return _first_line(getattr(target, "__doc__", None))

    def describe(self, name: str) -> dict[str, Any]:
        """Plain dict of entry ``name``: kind, name, description, target, options (with defaults).

        ``options`` maps option names to defaults (:data:`REQUIRED` for those without one);
        ``more_options`` is True when the target accepts options it does not declare.
        """
        entry = self._entry(name)
        target = self.get(name)
        options, more = self._options(name, target)
        row: dict[str, Any] = {
            "kind": self.kind,
            "name": name,
            "description": self.description(name),
            "target": entry.target if isinstance(entry.target, str) else _qualname(target),
            "options": options,
            "more_options": more,
        }
        if self._info is not None:
            row.update(self._info(target))
        return row

    def describe_all(self, on_error: str = "raise") -> list[dict[str, Any]]:
        """:meth:`describe` of every entry, in registration order.

        Parameters
        ----------
        on_error : {"raise", "row"}
            What an entry that cannot be imported does: raise its
            :class:`~srmer.errors.RegistryImportError` (default), or give a row whose
            ``description`` says it is unavailable and whose ``error`` holds the message.
        """
        if on_error not in ("raise", "row"):
            raise ConfigError(f"on_error={on_error!r}; use 'raise' or 'row'")
        rows = []
        for name in self.names():
            try:
                rows.append(self.describe(name))
            except RegistryImportError as exc:
                if on_error == "raise":
                    raise
                rows.append(
                    {
                        "kind": self.kind,
                        "name": name,
                        "description": f"(unavailable: {exc})",
                        "target": self._entries[name].target,
                        "options": {},
                        "more_options": False,
                        "error": str(exc),
                    }
                )
        return rows


def _qualname(obj: Any) -> str:
    module = getattr(obj, "__module__", None)
    qual = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}:{qual}" if module else qual


#: kind -> ``"module:attr"`` of the registry (imported by :func:`all_registries`, never here)
REGISTRIES: dict[str, str] = {
    "dataset": "srmer.data.registry:DATASETS",
    "degradation": "srmer.degrade.registry:DEGRADATIONS",
    "SR architecture": "srmer.sr.registry:ARCHS",
    "SR method": "srmer.sr.methods:SR_METHODS",
    "MER method": "srmer.mer.registry:MER_METHODS",
}


def all_registries() -> dict[str, Registry]:
    """The five srmer registries by kind (see :data:`REGISTRIES`), importing their modules.

    Returns
    -------
    dict of str to Registry
        ``{"dataset": ..., "degradation": ..., "SR architecture": ..., "SR method": ...,
        "MER method": ...}``.
    """
    out: dict[str, Registry] = {}
    for kind, target in REGISTRIES.items():
        module, attr = target.split(":")
        out[kind] = getattr(importlib.import_module(module), attr)
    return out


def describe_all(
    kinds: Iterable[str] | None = None, on_error: str = "raise"
) -> list[dict[str, Any]]:
    """Rows of every registered entry of every registry (or of ``kinds``), for ``srmer list``.

    Parameters
    ----------
    kinds : iterable of str, optional
        Registry kinds to describe (keys of :data:`REGISTRIES`); default all.
    on_error : {"raise", "row"}
        See :meth:`Registry.describe_all`.

    Returns
    -------
    list of dict
        One plain dict per entry: ``kind``, ``name``, ``description``, ``target``, ``options``
        (name -> default), ``more_options`` and, per registry, extra fields (SR architectures:
        ``scales``, ``support``, ``video``).
    """
    regs = all_registries()
    wanted = list(regs) if kinds is None else list(kinds)
    unknown = [k for k in wanted if k not in regs]
    if unknown:
        raise UnknownMethodError("registry kind", unknown[0], list(regs))
    rows: list[dict[str, Any]] = []
    for kind in wanted:
        rows.extend(regs[kind].describe_all(on_error=on_error))
    return rows


def _format_value(value: Any) -> str:
    return "<required>" if value is REQUIRED else repr(value)


def format_listing(rows: Iterable[Mapping[str, Any]], width: int = 100) -> str:
    """Plain-text listing of :func:`describe_all` rows, grouped by kind.

    Each entry is one ``name  description`` line followed by an indented ``options:`` line with
    every option and its default (``...`` when the entry accepts more options than it declares).

    Parameters
    ----------
    rows : iterable of mapping
        Rows as :func:`describe_all` returns them.
    width : int
        Wrap width of the options lines.

    Returns
    -------
    str
    """
    import textwrap

    lines: list[str] = []
    kind = None
    for row in rows:
        if row["kind"] != kind:
            kind = row["kind"]
            if lines:
                lines.append("")
            lines.append(f"{kind}s:")
        lines.append(f"  {row['name']:<16} {row['description']}")
        extra = row.get("support")
        if extra:
            lines.append(f"      scales: {extra}")
        opts = [f"{k}={_format_value(v)}" for k, v in row.get("options", {}).items()]
        if row.get("more_options"):
            opts.append("...")
        if opts:
            lines.extend(
                textwrap.wrap(
                    ", ".join(opts),
                    width=width,
                    initial_indent="      options: ",
                    subsequent_indent="               ",
                    break_on_hyphens=False,
                )
            )
    return "\n".join(lines)
