"""``roicast batch``: the command line of :mod:`roicast.batch`.

Registered in :mod:`roicast.cli` as ``app.command(name="batch")(batch)``; also
runnable on its own as ``python -m roicast.batch_cli SPECS... --out DIR``.
Parses, delegates to :func:`roicast.batch.run_batch`, shows a progress bar over
projects on stderr and a short summary on stdout; a
:class:`~roicast.errors.RoicastError` becomes one line on stderr and exit code 1,
and so does a batch in which any project failed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from roicast.errors import RoicastError
from roicast.report._format import money, pct

__all__ = ["batch", "main"]

out_console = Console()
err_console = Console(stderr=True)

#: Rows of the ranking printed to stdout.
TOP = 10


class _Rate(ProgressColumn):
    """Projects per second since the bar started."""

    def render(self, task) -> Text:
        elapsed = task.elapsed or 0.0
        done = task.fields.get("ran", 0)
        rate = done / elapsed if elapsed > 0 and done else None
        return Text("  -  /s" if rate is None else f"{rate:5.2f}/s", style="progress.data.speed")


class _Bar:
    """A rich progress bar over the projects of a batch (stderr)."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _Rate(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        self.task: Any = None
        self.t0 = time.perf_counter()

    def __call__(self, counts: dict[str, int], record: dict[str, Any] | None) -> None:
        desc = (
            f"[green]{counts['done']} done[/] · [red]{counts['failed']} failed[/] · "
            f"{counts['skipped']} skipped · {counts['remaining']} left"
        )
        finished = counts["total"] - counts["remaining"]
        if self.task is None:
            # skipped / refused projects are already finished: the rate counts projects run here
            self.task = self.progress.add_task(desc, total=counts["total"], ran=0)
            self.base = finished
        self.progress.update(
            self.task, completed=finished, description=desc, ran=finished - self.base
        )


def _print_summary(res) -> None:
    rows = [r for r in res.records if r["status"] != "failed"]
    cur = next((r.get("currency") for r in rows if r.get("currency")), "USD")
    c = res.counts
    t = Table(
        title=f"roicast batch: {c['total']} projects — {c['done']} run, {c['skipped']} reused, "
        f"{c['failed']} failed (seed {res.seed})",
        title_justify="left",
    )
    for col, just in (
        ("#", "right"),
        ("project", "left"),
        ("verdict", "left"),
        ("mean NPV", "right"),
        ("P10 NPV", "right"),
        ("P(NPV<0)", "right"),
        ("EVPI", "right"),
    ):
        t.add_column(col, justify=just, overflow="fold")
    for r in rows[:TOP]:
        colour = "green" if r["verdict"] == "go" else "red"
        t.add_row(
            str(r["rank"]),
            escape(r["name"]),
            f"[{colour}]{r['verdict']}[/]",
            money(r["npv_mean"], cur),
            money(r["npv_p10"], cur),
            pct(r["prob_npv_negative"]),
            money(r["evpi"], cur),
        )
    if len(rows) > TOP:
        t.caption = f"top {TOP} of {len(rows)} by mean NPV; all in portfolio.csv"
    if rows:
        out_console.print(t)
    else:
        out_console.print(t.title, highlight=False)
    pg, pa = res.portfolio["go"], res.portfolio["all"]
    if pa["projects"]:
        out_console.print(
            f"Portfolio of {pg['projects']} 'go' projects: mean NPV {money(pg['mean'], cur)}, "
            f"P10 {money(pg['p10'], cur)}, P(NPV < 0) {pct(pg['prob_negative'])}  "
            f"(all {pa['projects']}: mean {money(pa['mean'], cur)}, P(NPV < 0) {pct(pa['prob_negative'])})",
            highlight=False,
        )
    html = " portfolio.html," if (res.out / "portfolio.html").exists() else ""
    out_console.print(
        f"Outputs: {res.out}/ (portfolio.csv,{html} portfolio.nc, batch.json, projects/)",
        highlight=False,
        soft_wrap=True,
    )


def batch(
    specs: Annotated[
        list[Path] | None,
        typer.Argument(help="Spec files (TOML), one project each.", show_default=False),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Output folder: portfolio.csv/.nc/.html, batch.json, projects/<name>/.",
        ),
    ] = Path("roicast-batch"),
    template: Annotated[
        Path | None,
        typer.Option(help="Template spec; with --table, one project per table row."),
    ] = None,
    table: Annotated[
        Path | None,
        typer.Option(
            help="CSV whose columns override template fields by dotted name "
            "(e.g. optimized.throughput_gain.mode, project.name)."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            help="Local worker processes (default: one per core); 0: in this process.",
        ),
    ] = None,
    dask_local: Annotated[
        int | None,
        typer.Option("--dask-local", help="Start a local Dask cluster with N worker processes."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Address of a running Dask scheduler (tcp://host:8786); "
            "--out and history files must be on a filesystem the workers share."
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Skip projects already finished in --out with the same spec and seed."
        ),
    ] = False,
    report: Annotated[
        bool,
        typer.Option(
            "--report/--no-report",
            help="Per-project report.html/md, figures and results.nc, and portfolio.html.",
        ),
    ] = True,
    sensitivity: Annotated[
        bool,
        typer.Option(
            "--sensitivity/--no-sensitivity",
            help="Full sensitivity analysis per project (Sobol, rankings, EVPPI…); tornado always.",
        ),
    ] = True,
    seed: Annotated[
        int, typer.Option("--seed", help="Batch seed; every project's seeds derive from it.")
    ] = 0,
    draws: Annotated[
        int | None,
        typer.Option("--draws", "-n", help="Monte Carlo draws per project (overrides the specs)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Run many studies (locally or on Dask) and rank them: portfolio.csv, .nc and .html."""
    from roicast.batch import run_batch

    def go(progress: _Bar | None):
        return run_batch(
            specs or None,
            out=out,
            template=template,
            table=table,
            seed=seed,
            draws=draws,
            workers=workers,
            dask_local=dask_local,
            scheduler=scheduler,
            resume=resume,
            report=report,
            sensitivity=sensitivity,
            progress=progress,
        )

    bar = None if quiet or not err_console.is_terminal else _Bar()
    try:
        if bar is None:
            res = go(None)
        else:
            with bar.progress:
                res = go(bar)
    except RoicastError as e:
        err_console.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    _print_summary(res)
    if res.counts["failed"]:
        for r in res.failed[:TOP]:
            err_console.print(
                f"[red]failed:[/] {escape(r['name'])}: {escape(r['error'])}",
                highlight=False,
                soft_wrap=True,
            )
        more = len(res.failed) - TOP
        err_console.print(
            f"[bold red]{res.counts['failed']} of {res.counts['total']} projects failed[/]"
            + (f" ({more} more in portfolio.csv)" if more > 0 else ""),
            highlight=False,
        )
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - exercised through a subprocess in the tests
    """``python -m roicast.batch_cli``: the batch command on its own."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(name="batch")(batch)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
