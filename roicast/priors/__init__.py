"""Cited priors to start a study from: a catalogue shipped as data, and ``roicast new``.

``catalogue.toml`` holds published figures (technique throughput gains, GPU
prices per GPU-hour by tier, commitment discounts, model-update cadence, loaded
engineer cost), each with ``low`` / ``typical`` / ``high``, ``unit``,
``conditions``, ``sources``, ``as_of`` and whether every figure was traced.

>>> from roicast.priors import load_catalogue, new_spec
>>> cat = load_catalogue()                       # doctest: +SKIP
>>> text = new_spec("fp8", "h100", catalogue=cat)  # doctest: +SKIP
"""

from __future__ import annotations

from roicast.priors._catalogue import KINDS, Catalogue, Prior, load_catalogue
from roicast.priors._draft import (
    NewSpec,
    build_spec,
    gain_distribution,
    new_spec,
    pert_distribution,
)

__all__ = [
    "KINDS",
    "Catalogue",
    "NewSpec",
    "Prior",
    "build_spec",
    "gain_distribution",
    "list_priors",
    "load_catalogue",
    "new_spec",
    "pert_distribution",
]


def list_priors(catalogue: Catalogue | None = None, *, kind: str | None = None) -> list[Prior]:
    """Entries of the catalogue, sorted by key, optionally of one ``kind`` only.

    Parameters
    ----------
    catalogue : Catalogue, optional
        Default: :func:`load_catalogue` (built-in only).
    kind : str, optional
        One of :data:`KINDS` (``technique``, ``gpu``, ``pricing``, ``cadence``, ``engineering``).

    Raises
    ------
    RoicastError
        ``kind`` is not a kind of prior.
    """
    from roicast.errors import RoicastError

    if kind is not None and kind not in KINDS:
        raise RoicastError(
            f"kind: {kind!r} is not a kind of prior; choose one of {', '.join(KINDS)}"
        )
    cat = catalogue if catalogue is not None else load_catalogue()
    return sorted((p for p in cat if kind is None or p.kind == kind), key=lambda p: p.key)
