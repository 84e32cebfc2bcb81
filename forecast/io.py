"""Writing a forecast to a directory (what ``roicast forecast --out DIR`` writes)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from roicast.forecast.plot import plot_fan

__all__ = ["write_forecast", "write_netcdf"]

#: Slack kept free on the disk beyond the dataset's size when writing netCDF.
_DISK_SLACK = 16 * 2**20


def write_netcdf(ds, path) -> None:
    """Write ``ds`` to ``path`` (h5netcdf), refusing up front when the disk is too full.

    HDF5 does not recover from a full disk in the middle of a write (it
    crashes the process), so the free space is checked first: an ``OSError``
    (ENOSPC) is raised naming the path when it is below the data's size plus
    a margin.
    """
    import errno

    path = Path(path)
    free = shutil.disk_usage(path.parent).free
    need = int(ds.nbytes * 1.1) + _DISK_SLACK
    if free < need:
        raise OSError(
            errno.ENOSPC,
            f"not enough free disk space to write {path.name} "
            f"({need / 2**20:.0f} MiB needed, {free / 2**20:.0f} MiB free)",
            str(path.parent),
        )
    from roicast.forecast._xarray import write_netcdf_plain

    write_netcdf_plain(ds, path)  # = ds.to_netcdf(path, engine="h5netcdf"), without loading Dask


def write_forecast(forecast, out_dir, *, backtest=None) -> list[Path]:
    """Write ``forecast.nc``, ``fan.png`` and ``forecast.json`` into ``out_dir``.

    Files are first written into a temporary directory beside ``out_dir`` and
    then moved in with :func:`os.replace`, so a reader never sees a half-written
    file and a failed run leaves earlier results intact.

    Parameters
    ----------
    forecast : Forecast
        The forecast to write.
    out_dir : str or os.PathLike
        Output directory (created if needed).
    backtest : BacktestResult, optional
        Added to ``forecast.json`` under ``"backtest"``.

    Returns
    -------
    list of pathlib.Path
        The files written: ``forecast.nc`` (the ``(path, month)`` demand paths,
        h5netcdf), ``fan.png`` (fan chart), ``forecast.json``
        (:meth:`Forecast.to_dict`, plus the backtest).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-tmp-", dir=out_dir.parent))
    try:
        ds = forecast.paths.to_dataset(name="demand")
        ds.attrs.update({k: str(v) for k, v in forecast.paths.attrs.items()})
        write_netcdf(ds, tmp / "forecast.nc")
        plot_fan(forecast).savefig(tmp / "fan.png", dpi=120)
        summary = forecast.to_dict()
        if backtest is not None:
            summary["backtest"] = backtest.to_dict()
        with open(tmp / "forecast.json", "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2, allow_nan=False)
            fh.write("\n")
        written = []
        for name in ("forecast.nc", "fan.png", "forecast.json"):
            os.replace(tmp / name, out_dir / name)
            written.append(out_dir / name)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
