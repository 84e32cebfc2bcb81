"""The Excel commands as plain functions; ``roicast/cli.py`` registers them.

* ``roicast template --xlsx study.xlsx [--example options]``: :func:`template`;
* ``roicast convert study.toml study.xlsx`` (and back): :func:`convert`,
  the direction chosen by the suffixes.

Bad input raises :class:`~roicast.errors.RoicastError`; here it becomes one
line on stderr and exit code 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from roicast.errors import RoicastError
from roicast.excel import XLSX_SUFFIXES

__all__ = ["convert", "template"]


def _fail(e: RoicastError) -> typer.Exit:
    typer.echo(f"error: {e}", err=True)
    return typer.Exit(1)


def template(
    xlsx: Annotated[
        Path,
        typer.Option("--xlsx", help="Write a commented spec workbook (Excel) here."),
    ],
    example: Annotated[
        str,
        typer.Option(
            "--example",
            help="The built-in study it starts from: quantization (one option) or options (three).",
        ),
    ] = "quantization",
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Write a spec workbook to fill in: the built-in demo, commented, runnable as it is."""
    from roicast.excel.template import write_template

    try:
        if xlsx.suffix.lower() not in XLSX_SUFFIXES:
            raise RoicastError(f"--xlsx: {str(xlsx)!r} should end in .xlsx")
        if xlsx.exists() and not force:
            raise RoicastError(f"--xlsx: {str(xlsx)!r} exists; pass --force to replace it")
        write_template(xlsx, example=example)
    except RoicastError as e:
        raise _fail(e) from None
    typer.echo(
        f"Wrote {xlsx}: fill in the Assumptions and Settings sheets, then `roicast run {xlsx}`"
    )


def _kind(path: Path) -> str:
    s = path.suffix.lower()
    if s in XLSX_SUFFIXES:
        return "xlsx"
    if s == ".toml":
        return "toml"
    raise RoicastError(f"{path}: give a .toml or .xlsx file (the suffix chooses the format)")


def convert(
    src: Annotated[Path, typer.Argument(help="Spec to read: .toml or .xlsx.")],
    dst: Annotated[Path, typer.Argument(help="Spec to write: .xlsx or .toml (the other format).")],
    embed_history: Annotated[
        bool,
        typer.Option(
            "--embed-history",
            help="TOML -> xlsx: copy the history CSV into a History sheet (a workbook that stands alone).",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the destination if it exists.")
    ] = False,
) -> None:
    """Convert a spec between TOML and an Excel workbook (validated first; relative paths kept valid)."""
    from roicast.excel.spec_io import toml_to_xlsx, xlsx_to_toml

    try:
        a, b = _kind(src), _kind(dst)
        if a == b:
            raise RoicastError(f"{src} -> {dst}: both are {a}; convert between .toml and .xlsx")
        if dst.exists() and not force:
            raise RoicastError(f"{dst}: exists; pass --force to replace it")
        if a == "toml":
            toml_to_xlsx(src, dst, embed_history=embed_history)
        else:
            xlsx_to_toml(src, dst)
    except RoicastError as e:
        raise _fail(e) from None
    typer.echo(f"Wrote {dst}")
