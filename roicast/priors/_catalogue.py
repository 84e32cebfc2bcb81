"""The priors catalogue: published starting points, each with its sources and date.

The catalogue ships as ``catalogue.toml`` beside this module.  Each entry is a
TOML table ``[<kind>.<id>]`` (GPU prices ``[gpu.<gpu>.<tier>]``) holding
``low``, ``typical``, ``high``, ``unit``, ``sources``, ``as_of`` and optional
``conditions``, ``notes``, ``verified`` (and, for techniques, ``name``,
``aliases``, ``hardware``, ``rework_on_update``).  A user catalogue with the
same layout adds entries or replaces built-in ones whole, by key.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from roicast.errors import RoicastError

__all__ = ["KINDS", "Catalogue", "Prior", "load_catalogue"]

#: Kinds of prior and how many name parts follow the kind in a key.
KINDS: dict[str, int] = {"technique": 1, "gpu": 2, "pricing": 1, "cadence": 1, "engineering": 1}

#: Smallest value ``low`` may take per kind, and whether it is excluded.
_FLOOR: dict[str, tuple[float, bool]] = {
    "technique": (0.0, True),  # a gain multiplies throughput: must be > 0 (below 1 is allowed)
    "gpu": (0.0, True),
    "pricing": (0.0, True),
    "cadence": (0.0, False),
    "engineering": (0.0, False),
}

_REQUIRED = ("low", "typical", "high", "unit", "sources", "as_of")
_TEXT = ("unit", "conditions", "notes", "name")
_LISTS = ("sources", "aliases", "hardware")
_BOOLS = ("verified", "rework_on_update")
_ALLOWED = frozenset((*_REQUIRED, *_TEXT, *_LISTS, *_BOOLS))
_TECHNIQUE_ONLY = frozenset(("aliases", "hardware", "rework_on_update"))
_DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?")
_ID = re.compile(r"[a-z0-9][a-z0-9_\-]*")

BUILTIN = "built-in"


@dataclass(frozen=True)
class Prior:
    """One catalogue entry: a low / typical / high figure with its sources.

    Attributes
    ----------
    key : str
        ``kind.id`` (``gpu.<gpu>.<tier>`` for GPU prices), lower case.
    kind : str
        One of :data:`KINDS`.
    low, typical, high : float
        The range reported across sources (``low <= typical <= high``).  For a
        technique these are extremes across papers and setups, not one team's
        uncertainty (see :func:`roicast.priors.gain_distribution`).
    unit : str
        What the numbers measure.
    sources : tuple of str
        Short citations with year and a URL where public.
    as_of : str
        ``YYYY-MM`` (or ``YYYY-MM-DD``) of the figures.
    conditions, notes : str
        Hardware / batch regime / baseline; caveats (vendor claims, ranges
        stitched from several sources, which numbers could not be traced).
    verified : bool
        Whether ``low``, ``typical`` and ``high`` were each found in the sources.
    name : str
        Human-readable name (techniques).
    aliases : tuple of str
        Other names ``roicast new --technique`` accepts (techniques).
    hardware : tuple of str
        GPUs the figures apply to; empty = any (techniques).
    rework_on_update : bool or None
        Whether a model update forces the technique to be redone (techniques).
    origin : str
        ``"built-in"`` or the user catalogue file the entry came from.
    """

    key: str
    kind: str
    low: float
    typical: float
    high: float
    unit: str
    sources: tuple[str, ...]
    as_of: str
    conditions: str = ""
    notes: str = ""
    verified: bool = True
    name: str = ""
    aliases: tuple[str, ...] = ()
    hardware: tuple[str, ...] = ()
    rework_on_update: bool | None = None
    origin: str = BUILTIN

    @property
    def ident(self) -> str:
        """The key without its kind (``fp8``, ``h100.neocloud``)."""
        return self.key.split(".", 1)[1]

    @property
    def label(self) -> str:
        """``name`` when given, else the key."""
        return self.name or self.key


@dataclass(frozen=True)
class Catalogue:
    """Priors by key, with look-ups by technique name or alias and by GPU and tier."""

    entries: Mapping[str, Prior] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries.values())

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def get(self, key: str) -> Prior:
        """The entry ``key``; :class:`RoicastError` naming close keys when absent."""
        try:
            return self.entries[key]
        except KeyError:
            close = difflib.get_close_matches(key, list(self.entries), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise RoicastError(f"priors: no entry {key!r} in the catalogue{hint}") from None

    def of_kind(self, kind: str) -> list[Prior]:
        """Entries of one kind, sorted by key."""
        return sorted((p for p in self if p.kind == kind), key=lambda p: p.key)

    def technique(self, name: str) -> Prior:
        """The technique entry whose id or alias is ``name`` (case-insensitive).

        Raises
        ------
        RoicastError
            No technique has that id or alias; the message lists them.
        """
        want = name.strip().lower().replace("-", "_")
        for p in self.of_kind("technique"):
            names = {p.ident, *(a.replace("-", "_") for a in p.aliases)}
            if want in names:
                return p
        known = [p.ident for p in self.of_kind("technique")]
        close = difflib.get_close_matches(want, known, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise RoicastError(
            f"--technique: {name!r} is not a technique in the catalogue; {hint}"
            f"choose one of {', '.join(known)} (aliases: `roicast priors --kind technique`)"
        )

    def gpus(self) -> list[str]:
        """GPU names with at least one price."""
        return sorted({p.ident.split(".")[0] for p in self.of_kind("gpu")})

    def gpu_price(self, gpu: str, tier: str) -> Prior:
        """The price entry ``gpu.<gpu>.<tier>``.

        Raises
        ------
        RoicastError
            The GPU has no price, or none in that tier; the message lists what there is.
        """
        g, t = gpu.strip().lower(), tier.strip().lower()
        if g not in self.gpus():
            raise RoicastError(
                f"--gpu: {gpu!r} has no price in the catalogue; choose one of "
                f"{', '.join(self.gpus())} or add [gpu.{g}.<tier>] in a --catalogue file"
            )
        tiers = sorted(
            p.ident.split(".")[1] for p in self.of_kind("gpu") if p.ident.startswith(g + ".")
        )
        if t not in tiers:
            raise RoicastError(
                f"--pricing: {tier!r} is not a price tier of {g} in the catalogue; "
                f"choose one of {', '.join(tiers)}"
            )
        return self.entries[f"gpu.{g}.{t}"]


def _builtin_path() -> Path:
    return Path(str(files("roicast.priors") / "catalogue.toml"))


def _read_toml(path: Path) -> dict[str, Any]:
    if path.is_dir():
        raise RoicastError(f"{path}: is a folder; give a catalogue file (TOML)")
    if not path.is_file():
        raise RoicastError(f"{path}: catalogue file not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise RoicastError(f"{path}: not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise RoicastError(f"{path}: not a UTF-8 text file") from None
    except OSError as e:
        raise RoicastError(f"{path}: cannot be read ({e.strerror or e})") from None


def _flatten(raw: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """``{"technique": {"fp8": {...}}}`` → ``{"technique.fp8": {...}}`` (checking the shape)."""
    out: dict[str, Any] = {}
    for kind, table in raw.items():
        if kind not in KINDS:
            close = difflib.get_close_matches(kind, list(KINDS), n=1, cutoff=0.6)
            hint = f"did you mean `{close[0]}`?" if close else f"kinds: {', '.join(KINDS)}"
            problems.append(f"{kind}: unknown kind of prior; {hint}")
            continue
        stack: list[tuple[str, Any, int]] = [(kind, table, KINDS[kind])]
        while stack:
            key, value, depth = stack.pop()
            if not isinstance(value, Mapping):
                problems.append(f"{key}: expected a table, got {value!r}")
            elif depth == 0:
                out[key] = value
            else:
                for name, sub in value.items():
                    if not _ID.fullmatch(str(name)):
                        problems.append(
                            f"{key}.{name}: names are lower-case letters, digits, '_' and '-'"
                        )
                        continue
                    stack.append((f"{key}.{name}", sub, depth - 1))
    return out


def _number(key: str, name: str, v: Any, problems: list[str]) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        problems.append(f"{key}.{name}: value {v!r}; must be a finite number")
        return None
    return float(v)


def _check_numbers(key: str, kind: str, entry: Mapping[str, Any], problems: list[str]) -> bool:
    vals = [_number(key, n, entry[n], problems) for n in ("low", "typical", "high")]
    if None in vals:
        return False
    low, typical, high = vals
    floor, open_ = _FLOOR[kind]
    if low < floor or (open_ and low <= floor):
        problems.append(f"{key}.low: value {low:g}; must be {'>' if open_ else '>='} {floor:g}")
        return False
    if not (low <= typical <= high and low < high):
        problems.append(
            f"{key}: low {low:g}, typical {typical:g}, high {high:g}; "
            "need low <= typical <= high and low < high"
        )
        return False
    return True


def _unknown_keys(key: str, kind: str, entry: Mapping[str, Any]) -> list[str]:
    out = []
    for name in entry:
        if name not in _ALLOWED or (name in _TECHNIQUE_ONLY and kind != "technique"):
            close = difflib.get_close_matches(str(name), sorted(_ALLOWED), n=1, cutoff=0.6)
            hint = f"did you mean `{close[0]}`?" if close else f"keys: {', '.join(_REQUIRED)}, ..."
            out.append(f"{key}.{name}: unknown key for a {kind} prior; {hint}")
    return out


def _check_fields(key: str, kind: str, entry: Mapping[str, Any], problems: list[str]) -> bool:
    found = _unknown_keys(key, kind, entry)
    found += [
        f"{key}.{name}: missing; every prior needs {', '.join(_REQUIRED)}"
        for name in _REQUIRED
        if name not in entry
    ]
    for names, ok, rule in (
        (_TEXT, lambda v: isinstance(v, str), "must be a string"),
        (_BOOLS, lambda v: isinstance(v, bool), "must be true or false"),
        (
            _LISTS,
            lambda v: isinstance(v, list) and all(isinstance(s, str) and s.strip() for s in v),
            "must be a list of non-empty strings",
        ),
    ):
        found += [
            f"{key}.{n}: value {entry[n]!r}; {rule}"
            for n in names
            if n in entry and not ok(entry[n])
        ]
    problems += found
    return not found


def _entry(key: str, entry: Mapping[str, Any], origin: str, problems: list[str]) -> Prior | None:
    kind = key.split(".", 1)[0]
    if not _check_fields(key, kind, entry, problems):
        return None
    if not _check_numbers(key, kind, entry, problems):
        return None
    if not entry["sources"]:
        problems.append(f"{key}.sources: empty; every prior needs at least one source")
        return None
    if not _DATE.fullmatch(entry["as_of"]):
        problems.append(f"{key}.as_of: value {entry['as_of']!r}; must be YYYY-MM or YYYY-MM-DD")
        return None
    return Prior(
        key=key,
        kind=kind,
        low=float(entry["low"]),
        typical=float(entry["typical"]),
        high=float(entry["high"]),
        unit=entry["unit"],
        sources=tuple(entry["sources"]),
        as_of=entry["as_of"],
        conditions=entry.get("conditions", ""),
        notes=entry.get("notes", ""),
        verified=entry.get("verified", True),
        name=entry.get("name", ""),
        aliases=tuple(a.lower() for a in entry.get("aliases", [])),
        hardware=tuple(h.lower() for h in entry.get("hardware", [])),
        rework_on_update=entry.get("rework_on_update"),
        origin=origin,
    )


def _parse(raw: Mapping[str, Any], origin: str, source: str) -> dict[str, Prior]:
    problems: list[str] = []
    flat = _flatten(raw, problems)
    out = {}
    for key, entry in flat.items():
        p = _entry(key, entry, origin, problems)
        if p is not None:
            out[key] = p
    if problems:
        raise RoicastError("\n".join(f"{source}: {line}" for line in problems))
    return out


def _check_aliases(entries: Iterable[Prior]) -> None:
    seen: dict[str, str] = {}
    for p in sorted(entries, key=lambda p: p.key):
        if p.kind != "technique":
            continue
        for name in (p.ident, *p.aliases):
            name = name.replace("-", "_")
            if name in seen and seen[name] != p.key:
                where = p.origin if p.origin != BUILTIN else "catalogue"
                raise RoicastError(
                    f"{where}: {p.key}: name or alias {name!r} is already used by {seen[name]}; "
                    "give each technique distinct aliases"
                )
            seen[name] = p.key


def load_catalogue(user_file: Path | str | None = None) -> Catalogue:
    """The built-in catalogue, extended or overridden by a user catalogue.

    Parameters
    ----------
    user_file : path, optional
        A TOML file with the built-in layout.  Each of its entries is added,
        or replaces the built-in entry with the same key *whole* (give every
        required field, including your own ``sources`` and ``as_of``).

    Returns
    -------
    Catalogue

    Raises
    ------
    RoicastError
        The file is missing or not TOML, or an entry breaks a rule: one line
        per problem, naming the file, the key, the value and the rule.
    """
    entries = _parse(_read_toml(_builtin_path()), BUILTIN, "roicast/priors/catalogue.toml")
    if user_file is not None:
        path = Path(user_file)
        entries.update(_parse(_read_toml(path), str(path), str(path)))
    _check_aliases(entries.values())
    return Catalogue(dict(sorted(entries.items())))
