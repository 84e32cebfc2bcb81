"""``roicast new`` and ``roicast priors``: the command-line side of :mod:`roicast.priors`.

Plain functions with ``Annotated`` Typer options; :mod:`roicast.cli` registers
them (``app.command("new")(new)``, ``app.command("priors")(priors)``).  A
:class:`~roicast.errors.RoicastError` becomes one line on stderr and exit code 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from roicast.errors import RoicastError
from roicast.priors._catalogue import KINDS, load_catalogue
from roicast.priors._draft import DEFAULT_TIER, build_spec

__all__ = ["new", "priors"]

out_console = Console()
err_console = Console(stderr=True)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except RoicastError as e:
        for line in str(e).splitlines():
            err_console.print(
                f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True
            )
        raise typer.Exit(1) from None


def new(
    technique: Annotated[
        str,
        typer.Option("--technique", "-t", help="Technique id or alias (fp8, batching, int4...)."),
    ],
    gpu: Annotated[
        str, typer.Option("--gpu", "-g", help="GPU the fleet runs on (h100, a100, l4).")
    ],
    history: Annotated[
        Path | None, typer.Option("--history", help="Traffic history CSV (else placeholders).")
    ] = None,
    column: Annotated[
        str | None, typer.Option("--column", help="Volume column of --history when it has several.")
    ] = None,
    options: Annotated[
        str | None,
        typer.Option(
            "--options", help="Techniques to compare, comma-separated: one [[option]] each."
        ),
    ] = None,
    pricing: Annotated[
        str, typer.Option("--pricing", help="GPU price tier: neocloud, hyperscaler or marketplace.")
    ] = DEFAULT_TIER,
    gpus_per_instance: Annotated[
        int,
        typer.Option(
            "--gpus-per-instance", help="GPUs in one serving instance (replica).", min=1, max=64
        ),
    ] = 1,
    out: Annotated[Path, typer.Option("--out", "-o", help="Spec file to write.")] = Path(
        "study.toml"
    ),
    catalogue: Annotated[
        Path | None,
        typer.Option("--catalogue", help="User catalogue (TOML) extending the built-in one."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --out if it exists.")] = False,
) -> None:
    """Write a study spec started from cited priors; edit the `# REPLACE:` lines, then `roicast run`."""
    from roicast.report._io import atomic_file

    with _errors():
        if out.exists() and not force:
            raise RoicastError(
                f"--out: {out} exists; choose another file or pass --force to replace it"
            )
        if out.is_dir():
            raise RoicastError(
                f"--out: {out} is a folder; give a file name such as {out / 'study.toml'}"
            )
        draft = build_spec(
            technique,
            gpu,
            history=history,
            history_column=column,
            options=[o.strip() for o in options.split(",")] if options else None,
            gpus_per_instance=gpus_per_instance,
            pricing=pricing,
            catalogue=load_catalogue(catalogue),
            base_dir=out.resolve().parent,
        )
        with atomic_file(out) as tmp:
            tmp.write_text(draft.text, encoding="utf-8")
    for w in draft.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False, soft_wrap=True)
    out_console.print(f"wrote {out}", highlight=False)
    out_console.print(
        f"replace the placeholders ({', '.join(draft.placeholders)}), then: roicast run {out}",
        highlight=False,
        soft_wrap=True,
    )


def priors(
    catalogue: Annotated[
        Path | None,
        typer.Option("--catalogue", help="User catalogue (TOML) extending the built-in one."),
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help=f"Only one kind: {', '.join(KINDS)}.")
    ] = None,
    details: Annotated[
        bool, typer.Option("--details", help="Also show conditions, notes and sources.")
    ] = False,
) -> None:
    """List the priors catalogue: low / typical / high, unit, date and sources of each entry."""
    with _errors():
        if kind is not None and kind not in KINDS:
            raise RoicastError(
                f"--kind: {kind!r} is not a kind of prior; choose one of {', '.join(KINDS)}"
            )
        cat = load_catalogue(catalogue)
    entries = [p for p in cat if kind is None or p.kind == kind]
    t = Table(title="roicast priors", caption="verified: every figure was found in its sources")
    for col, just in (("key", "left"), ("low", "right"), ("typical", "right"), ("high", "right")):
        t.add_column(col, justify=just)
    t.add_column("unit")
    t.add_column("as of")
    t.add_column("verified")
    t.add_column("details" if details else "sources", overflow="fold")
    for p in entries:
        origin = "" if p.origin == "built-in" else f" ({p.origin})"
        if details:
            info = "\n".join(
                [p.label, p.conditions, *(["notes: " + p.notes] if p.notes else []), *p.sources]
            )
        else:
            info = f"{len(p.sources)} ({p.sources[0].split(',')[0]}…)"
        t.add_row(
            escape(p.key + origin),
            f"{p.low:g}",
            f"{p.typical:g}",
            f"{p.high:g}",
            escape(p.unit),
            p.as_of,
            "yes" if p.verified else "no",
            escape(info),
        )
    out_console.print(t)
