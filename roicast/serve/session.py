"""A what-if session: one spec being edited, its cached forecast and its latest results.

:class:`Session` is plain Python (no web server): the page's endpoints call
:meth:`Session.edit`, :meth:`Session.state`, :meth:`Session.save_spec` and
:meth:`Session.save_report`.  An edit is validated by
:func:`roicast.spec.spec_from_dict` (the same one-line
:class:`~roicast.errors.RoicastError` as ``roicast validate``), then the study
is re-run at ``quick_draws`` draws with the tornado's noise averaged over
fewer draws, reusing the demand forecast unless the edit changed what the
forecast depends on (``[demand]``, the horizon, the start month or the seed).
A background thread then re-runs it at the spec's ``[simulation] draws``
(the refinement); a newer edit supersedes an older refinement, which stops
at its next stage.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roicast.errors import RoicastError
from roicast.forecast import Forecast
from roicast.report import write_report
from roicast.report._io import atomic_file, jsonable
from roicast.serve.payload import controls, option_views
from roicast.serve.toml_writer import dumps
from roicast.spec import OPTION_SECTIONS, Spec, load_spec, spec_from_dict
from roicast.study import StudyResult, forecast_for, run_study

__all__ = ["EditResult", "NeedsConfirmation", "Session"]

#: Fields of ``[project]`` and ``[simulation]`` the demand forecast depends on.
_FORECAST_FIELDS = (("project", "horizon_months"), ("project", "start"), ("simulation", "seed"))


class NeedsConfirmation(RoicastError):
    """The target of a save exists: the caller must confirm overwriting it."""


class _Superseded(Exception):
    """Raised inside a refinement's progress callback when a newer edit arrived."""


@dataclass(frozen=True)
class EditResult:
    """What an edit did: ``ok`` and the new ``version``, or the one-line ``error``."""

    ok: bool
    version: int
    field: str
    option: str | None = None
    error: str | None = None


def _forecast_key(raw: dict[str, Any]) -> str:
    parts = [raw.get("demand")] + [raw.get(s, {}).get(f) for s, f in _FORECAST_FIELDS]
    return json.dumps(parts, sort_keys=True, default=str)


def _quick_spec(spec: Spec, tornado_draws: int) -> Spec:
    """``spec`` with the tornado's noise averaged over at most ``tornado_draws`` draws."""
    n = min(spec.simulation.tornado_draws, tornado_draws)
    sim = spec.simulation.model_copy(update={"tornado_draws": n})
    return spec.model_copy(update={"simulation": sim})


def set_field(raw: dict[str, Any], field: str, value: Any, option: str | None) -> None:
    """Set ``section.field`` of a parsed spec in place (``value=None`` removes the key).

    A field of an option section (``optimized``, ``implementation``, ``churn``,
    ``indirect``) with ``option`` named in a spec with ``[[option]]`` blocks is
    set in that option's block (where a shorthand key of the same name wins);
    anything else is set in the top-level section, shared by every option
    that does not override it.
    """
    parts = field.split(".")
    if len(parts) != 2 or not all(parts):
        raise RoicastError(f"field: {field!r} is not a spec field; give it as section.field")
    sec, key = parts
    target = raw
    blocks = raw.get("option")
    if option is not None and sec in OPTION_SECTIONS and isinstance(blocks, list):
        block = next((b for b in blocks if isinstance(b, dict) and b.get("name") == option), None)
        if block is None:
            names = ", ".join(str(b.get("name")) for b in blocks if isinstance(b, dict))
            raise RoicastError(f"option: {option!r} is not an option of this spec ({names})")
        target = block
        if key in block:  # shorthand `[[option]] throughput_gain = …`
            _put(block, key, value)
            return
    section = target.setdefault(sec, {})
    if not isinstance(section, dict):
        raise RoicastError(f"{sec}: is not a table in this spec; cannot set {field}")
    _put(section, key, value)


def _put(table: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        table.pop(key, None)
    else:
        table[key] = value


class Session:
    """One spec under edit, with its cached forecast and results.

    Parameters
    ----------
    spec_path : path
        The TOML spec; it must be valid (:func:`roicast.spec.load_spec`).
    quick_draws : int
        Draws of the quick re-run after each edit (at least 100).
    quick_tornado_draws : int
        Draws the quick run's tornado averages each setting over (the spec's
        ``tornado_draws`` if smaller).
    background : bool
        Refine in a background thread after each edit (``False``: only when
        :meth:`refine` is called).

    Raises
    ------
    RoicastError
        The spec is missing or invalid, or ``quick_draws`` is below 100.
    """

    def __init__(
        self,
        spec_path: Path | str,
        *,
        quick_draws: int = 2000,
        quick_tornado_draws: int = 500,
        background: bool = True,
    ) -> None:
        if quick_draws < 100:
            raise RoicastError(f"quick_draws: value {quick_draws}; must be at least 100")
        path = Path(spec_path)
        spec = load_spec(path)
        self.spec_path = path.resolve()
        self.folder = self.spec_path.parent
        self.source = str(path)
        self.quick_draws = quick_draws
        self.quick_tornado_draws = quick_tornado_draws
        self.background = background
        self._original = tomllib.loads(path.read_text(encoding="utf-8"))
        self._raw = copy.deepcopy(self._original)
        self._spec = spec
        self._version = 0
        self._edited: list[str] = []
        self._lock = threading.RLock()  # raw, spec, version, results
        self._edit_lock = threading.Lock()  # one edit (validate + quick run) at a time
        self._fc_lock = threading.Lock()
        self._quick_lock = threading.Lock()  # one quick run at a time (edits and polls)
        self._forecast: tuple[str, Forecast] | None = None
        self.forecasts_computed = 0
        self._results: dict[str, tuple[int, StudyResult]] = {}
        self._states: dict[str, tuple[int, dict[str, Any]]] = {}
        self._errors: dict[str, tuple[int, str]] = {}
        self._wanted = -1  # version the refinement worker should refine
        self._wake = threading.Condition(self._lock)
        self._worker: threading.Thread | None = None
        self._closed = False

    # ------------------------------------------------------------------ state
    @property
    def version(self) -> int:
        """Incremented by every accepted edit (and by :meth:`reset`)."""
        return self._version

    @property
    def spec(self) -> Spec:
        """The current validated spec."""
        return self._spec

    @property
    def raw(self) -> dict[str, Any]:
        """A copy of the current spec as a TOML document (the parsed file plus the edits)."""
        with self._lock:
            return copy.deepcopy(self._raw)

    @property
    def draws(self) -> int:
        """Draws of the refined run (the spec's ``[simulation] draws``)."""
        return self._spec.simulation.draws

    def _snapshot(self) -> tuple[int, Spec, dict[str, Any]]:
        with self._lock:
            return self._version, self._spec, self._raw

    # ------------------------------------------------------------------ edits
    def apply_edit(self, field: str, value: Any, option: str | None = None) -> EditResult:
        """Set ``section.field`` to ``value`` (a number or a distribution table; ``None`` removes it).

        The edited spec is validated as a whole; if it breaks a rule nothing
        changes and the result carries the one-line message (as ``roicast
        validate`` would print it).  Never raises for bad input.
        """
        with self._lock:
            raw = copy.deepcopy(self._raw)
            try:
                set_field(raw, field, value, option)
                spec = spec_from_dict(raw, base_dir=self.folder, source=self.source)
            except RoicastError as e:
                return EditResult(False, self._version, field, option, str(e))
            except (ValueError, TypeError) as e:  # anything spec_from_dict did not word itself
                msg = f"{self.source}: {field}: value {value!r}; {e}"
                return EditResult(False, self._version, field, option, msg)
            self._raw, self._spec = raw, spec
            self._version += 1
            label = f"option[{option}].{field}" if option and len(spec.options) > 1 else field
            if label not in self._edited:
                self._edited.append(label)
            return EditResult(True, self._version, field, option)

    def reset(self) -> EditResult:
        """Go back to the spec as loaded."""
        with self._edit_lock, self._lock:
            self._raw = copy.deepcopy(self._original)
            self._spec = spec_from_dict(self._raw, base_dir=self.folder, source=self.source)
            self._edited = []
            self._version += 1
            return EditResult(True, self._version, "*")

    def edit(self, field: str, value: Any, option: str | None = None) -> tuple[EditResult, dict]:
        """Apply an edit, re-run the quick study and schedule the refinement.

        Returns the edit's result and the page state.  If the edited spec is
        valid but the study refuses it (a :class:`RoicastError` while running),
        the edit is undone and its error returned.
        """
        with self._edit_lock:
            before = (self._raw, self._spec, list(self._edited))
            res = self.apply_edit(field, value, option)
            if not res.ok:
                return res, self.state()
            try:
                state = self.quick()
            except RoicastError as e:
                with self._lock:
                    self._raw, self._spec, self._edited = before
                    self._version += 1  # supersedes the refused version; the old results stand
                    for cache in (self._results, self._states):
                        for kind, (v, value) in list(cache.items()):
                            if v == res.version - 1:
                                cache[kind] = (self._version, value)
                res = EditResult(False, self._version, field, option, str(e))
                return res, self.state()
            if self.background:
                self.start_refine()
            return res, state

    # --------------------------------------------------------------- running
    def forecast(self, spec: Spec | None = None, raw: dict[str, Any] | None = None) -> Forecast:
        """The demand forecast of the current spec, computed once per demand setting."""
        if spec is None:
            _, spec, raw = self._snapshot()
        key = _forecast_key(raw)
        with self._fc_lock:
            if self._forecast is None or self._forecast[0] != key:
                fc = forecast_for(spec, seed=spec.simulation.seed)
                self._forecast = (key, fc)
                self.forecasts_computed += 1
            return self._forecast[1]

    def _run(self, kind: str, version: int, spec: Spec, raw: dict, **kwargs: Any) -> StudyResult:
        fc = self.forecast(spec, raw)
        result = run_study(spec, forecast=fc, monthly=True, **kwargs)
        with self._lock:
            self._results[kind] = (version, result)
        return result

    def _state_from(self, kind: str, version: int, result: StudyResult) -> dict[str, Any]:
        doc, views = option_views(result)
        state = {
            "version": version,
            "kind": kind,
            "draws": result.draws,
            "project": doc["project"],
            "currency": doc["currency"],
            "unit": doc["unit"],
            "horizon_months": doc["horizon_months"],
            "recommended": doc["option"],
            "options": list(views),
            "views": views,
            "comparison": doc.get("options_comparison", {}).get("table", []),
        }
        with self._lock:
            self._states[kind] = (version, state)
        return state

    def quick(self) -> dict[str, Any]:
        """Run the current spec at ``quick_draws`` draws (cached per version); the page state.

        When the spec's own draws are no more than ``quick_draws`` the quick
        run is the refined one.
        """
        with self._quick_lock:
            version, spec, raw = self._snapshot()
            for kind in ("refined", "quick"):
                cached = self._states.get(kind)
                if cached is not None and cached[0] == version:
                    return self._decorate(cached[1])
            if spec.simulation.draws <= self.quick_draws:
                result = self._run("refined", version, spec, raw, sensitivity=False)
                return self._decorate(self._state_from("refined", version, result))
            q = _quick_spec(spec, self.quick_tornado_draws)
            result = self._run("quick", version, q, raw, draws=self.quick_draws, sensitivity=False)
            return self._decorate(self._state_from("quick", version, result))

    def refine(self, version: int | None = None) -> dict[str, Any] | None:
        """Run at the spec's draws for ``version`` (default: the current one); ``None`` if superseded."""
        v, spec, raw = self._snapshot()
        version = v if version is None else version
        if version != v:
            return None
        cached = self._states.get("refined")
        if cached is not None and cached[0] == version:
            return self._decorate(cached[1])

        def check(stage: str, done: int, total: int) -> None:
            if self._version != version or self._closed:
                raise _Superseded

        try:
            result = self._run("refined", version, spec, raw, sensitivity=False, progress=check)
        except _Superseded:
            return None
        except RoicastError as e:
            with self._lock:
                self._errors["refined"] = (version, str(e))
            return None
        return self._decorate(self._state_from("refined", version, result))

    def _decorate(self, state: dict[str, Any]) -> dict[str, Any]:
        """Add what the page needs besides the numbers: controls, status, edits."""
        with self._lock:
            version, spec = self._version, self._spec
            refined = self._states.get("refined")
            err = self._errors.get("refined")
            edited = list(self._edited)
        done = refined is not None and refined[0] == version
        return jsonable(state) | {
            "current_version": version,
            "refined": state["kind"] == "refined",
            "refining": self.background and not done and not (err and err[0] == version),
            "refine_error": err[1] if err and err[0] == version else None,
            "target_draws": spec.simulation.draws,
            "controls": controls(spec),  # already JSON-safe
            "edited": edited,
            "spec_name": self.spec_path.name,
            "default_spec_path": f"{self.spec_path.stem}-whatif.toml",
            "default_report_path": f"{self.spec_path.stem}-whatif-report",
        }

    def state(self) -> dict[str, Any]:
        """The best page state of the current version: refined if done, else the quick one.

        With ``background``, a refinement of the current version is scheduled
        if it is not done yet.
        """
        st = self.quick()
        if self.background and not st["refined"] and not st["refine_error"]:
            self.start_refine()
        return st

    # ------------------------------------------------------------ background
    def start_refine(self) -> None:
        """Ask the background worker to refine the current version (supersedes older requests)."""
        with self._wake:
            self._wanted = self._version
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name="roicast-serve-refine", daemon=True
                )
                self._worker.start()
            self._wake.notify_all()

    def _work(self) -> None:
        done = -1
        while True:
            with self._wake:
                while not self._closed and self._wanted == done:
                    self._wake.wait()
                if self._closed:
                    return
                want = self._wanted
            self.refine(want)
            done = want

    def close(self) -> None:
        """Stop the background worker (a running refinement stops at its next stage)."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=60)

    # ------------------------------------------------------------------ saving
    def confined(self, name: str, *, what: str) -> Path:
        """Resolve a path typed in the page; it must lie inside the spec's folder.

        Raises
        ------
        RoicastError
            Empty, with a ``..`` part, or outside the spec's folder.
        """
        if not isinstance(name, str) or not name.strip():
            raise RoicastError(f"{what}: give a file name (saved beside {self.spec_path.name})")
        p = Path(name.strip())
        if ".." in p.parts:
            raise RoicastError(f"{what}: {name!r} contains '..'; save inside {self.folder}")
        full = (p if p.is_absolute() else self.folder / p).resolve()
        if full == self.folder or not full.is_relative_to(self.folder):
            raise RoicastError(f"{what}: {name!r} is outside the spec's folder {self.folder}")
        return full

    def spec_text(self, target: Path) -> str:
        """The current spec as TOML text for ``target`` (history path made relative to it)."""
        raw = self.raw
        hist = raw.get("demand", {}).get("history")
        if isinstance(hist, str) and not Path(hist).is_absolute():
            rel = os.path.relpath(self.folder / hist, target.parent)
            raw["demand"]["history"] = Path(rel).as_posix()
        edited = ", ".join(self._edited) or "nothing"
        header = f"What-if of {self.spec_path.name}, saved by `roicast serve`.\nEdited: {edited}."
        return dumps(raw, header=header)

    def save_spec(self, name: str, *, overwrite: bool = False) -> Path:
        """Write the edited spec as TOML beside the original, atomically.

        The text is parsed back and validated before anything is written, so
        the file round-trips through ``roicast validate``.

        Raises
        ------
        NeedsConfirmation
            The file exists and ``overwrite`` is false.
        RoicastError
            A path outside the spec's folder, not ending in ``.toml``, or a
            folder.
        """
        target = self.confined(name, what="save spec")
        if target.suffix != ".toml":
            raise RoicastError(f"save spec: {name!r} must end in .toml")
        if target.is_dir():
            raise RoicastError(f"save spec: {name!r} is a folder; give a file name")
        if target.exists() and not overwrite:
            raise NeedsConfirmation(f"save spec: {target.name} exists; overwrite it?")
        text = self.spec_text(target)
        target.parent.mkdir(parents=True, exist_ok=True)  # a relative history path goes through it
        spec_from_dict(tomllib.loads(text), base_dir=target.parent, source=str(target))
        with atomic_file(target) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return target

    def full_result(self) -> StudyResult:
        """The current spec at its draws with the full sensitivity analysis (cached per version)."""
        version, spec, raw = self._snapshot()
        cached = self._results.get("full")
        if cached is not None and cached[0] == version:
            return cached[1]
        return self._run("full", version, spec, raw)

    def save_report(self, name: str, *, overwrite: bool = False) -> tuple[Path, dict[str, Any]]:
        """Run the full study of the edited spec and write the usual report folder.

        Returns the folder and the summary document (as ``roicast run``).

        Raises
        ------
        NeedsConfirmation
            The folder exists and ``overwrite`` is false.
        RoicastError
            A path outside the spec's folder, or a folder that is not a
            roicast output.
        """
        target = self.confined(name, what="save report")
        if target.exists() and not overwrite:
            raise NeedsConfirmation(f"save report: {target.name} exists; replace it?")
        doc = write_report(self.full_result(), target)
        return target, doc
