"""xarray without loading Dask when no Dask array exists (issue 13, quick start).

xarray asks "is this a Dask array?" on every ``DataArray`` it builds, and to
answer it imports ``dask.array`` (≈ 0.2 s CPU) whenever Dask is installed;
writing netCDF asks which Dask scheduler is active, which imports
``distributed`` (≈ 0.35 s CPU).  Neither answer can change while
``dask.array`` has not been imported: no object of its ``Array`` class can
exist before its module is loaded, and without Dask arrays no Dask scheduler
takes part in a write.  :func:`defer_dask` records that in xarray's cache of
duck-array modules, so the import happens the first time somebody else loads
``dask.array`` (a batch on a Dask cluster, a user's own code), never before.
:func:`write_netcdf_plain` writes a dataset of in-memory arrays without the
scheduler question.

Both are optimisations only: the answers, and the files written, are those of
plain xarray (tested in ``tests/test_quick_start.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

__all__ = ["defer_dask", "write_netcdf_plain"]


class _DeferredDask:
    """Stands in for xarray's ``DuckArrayModule("dask")`` until ``dask.array`` is loaded.

    ``type`` (the only attribute asked for per array) is ``()`` while
    ``dask.array`` is not in :data:`sys.modules`; any other attribute, or
    ``type`` once Dask is loaded, builds the real record, puts it in xarray's
    cache in place of this one and answers from it.
    """

    def __init__(self, cache: dict, factory: Any) -> None:
        self._cache = cache
        self._factory = factory

    def _real(self) -> Any:
        real = self._factory("dask")
        if self._cache.get("dask") is self:
            self._cache["dask"] = real
        return real

    @property
    def type(self) -> tuple:
        if "dask.array" not in sys.modules:
            return ()
        return self._real().type

    def __getattr__(self, name: str) -> Any:  # module, version, available
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._real(), name)


def defer_dask() -> bool:
    """Make xarray load ``dask.array`` only once something else has loaded it.

    Returns
    -------
    bool
        Whether the deferral is in place (``False`` when xarray has already
        resolved Dask, or its private cache is not where this xarray version
        is known to keep it: then nothing is changed).
    """
    try:
        from xarray.namedarray import pycompat
    except ImportError:  # pragma: no cover - another xarray layout
        return False
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    factory = getattr(pycompat, "DuckArrayModule", None)
    if not isinstance(cache, dict) or factory is None:  # pragma: no cover
        return False
    if "dask" not in cache:
        cache["dask"] = _DeferredDask(cache, factory)
    return isinstance(cache["dask"], _DeferredDask)


def write_netcdf_plain(ds: Any, path: Path | str) -> None:
    """``ds.to_netcdf(path, engine="h5netcdf")`` without asking Dask for its scheduler.

    Used for datasets whose variables are all in memory (no chunks) while
    ``dask.array`` is not loaded; otherwise (or when this xarray keeps its
    checks elsewhere, or the dataset asks for unlimited dimensions)
    ``to_netcdf`` itself is called.
    The store is opened with xarray's HDF5 lock (the lock ``to_netcdf`` combines
    with a per-file lock that only matters for Dask's distributed writers) and
    filled by ``Dataset.dump_to_store``, the step ``to_netcdf`` runs.
    """
    chunked = any(v.chunks is not None for v in ds.variables.values())
    try:  # the checks to_netcdf makes first (names, attribute types)
        from xarray.backends.writers import _validate_attrs, _validate_dataset_names
    except ImportError:  # pragma: no cover - another xarray layout: let to_netcdf do it all
        _validate_attrs = _validate_dataset_names = None
    if (
        chunked
        or "dask.array" in sys.modules
        or _validate_attrs is None
        or ds.encoding.get("unlimited_dims")  # to_netcdf sanitizes these; leave it to it
    ):
        ds.to_netcdf(path, engine="h5netcdf")
        return
    from xarray.backends import H5NetCDFStore
    from xarray.backends.locks import HDF5_LOCK

    _validate_dataset_names(ds)
    _validate_attrs(ds, "h5netcdf", False)
    store = H5NetCDFStore.open(str(path), mode="w", lock=HDF5_LOCK)
    try:
        ds.dump_to_store(store)
    finally:
        store.close()
