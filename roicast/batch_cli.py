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
    _print_flags(rows)
    if res.selection is not None:
        _print_selection(res.selection, cur)
    html = " portfolio.html," if (res.out / "portfolio.html").exists() else ""
    out_console.print(
        f"Outputs: {res.out}/ (portfolio.csv,{html} portfolio.nc, batch.json, projects/)",
        highlight=False,
        soft_wrap=True,
    )


def _amounts(amounts: dict[str, float], cur: str) -> str:
    """``{"engineer_months": 12, "money": 3e5}`` as ``12.0 engineer-months and $300k``."""
    parts = [
        money(v, cur) if k == "money" else f"{v:,.1f} engineer-months" for k, v in amounts.items()
    ]
    return " and ".join(parts)


def _print_selection(sel: dict[str, Any], cur: str) -> None:
    """The choice under the budget: projects, budget used, risk, marginal projects."""
    n = sel["npv"]
    names = ", ".join(sel["projects"]) or "none"
    note = "" if sel["exact"] else " [search stopped at its node limit: maybe not the best]"
    out_console.print(
        f"Selection within {_amounts(sel['budget'], cur)}: {len(sel['projects'])} of "
        f"{sel['candidates']} candidates ({escape(names)}), using {_amounts(sel['used'], cur)}; "
        f"mean NPV {money(n['mean'], cur)}, P(NPV < 0) {pct(n['prob_negative'])}, "
        f"CVaR10 {money(n['cvar10'], cur)}{note}",
        highlight=False,
        soft_wrap=True,
    )
    m = sel["marginal"]
    bits = []
    if m["last_in"]:
        bits.append(f"last in: {escape(m['last_in']['name'])}")
    if m["first_out"]:
        fo = m["first_out"]
        need = f" (needs {_amounts(fo['short_by'], cur)} more)" if fo["short_by"] else ""
        bits.append(f"first out: {escape(fo['name'])}{need}")
    if bits:
        out_console.print("Marginal projects — " + "; ".join(bits), highlight=False, soft_wrap=True)


def _print_flags(rows: list[dict[str, Any]]) -> None:
    """Projects whose diagnosis says they cannot pay back (at most :data:`TOP`)."""
    flagged = [r for r in rows if r.get("diagnosis")]
    for r in flagged[:TOP]:
        out_console.print(
            f"[yellow]check:[/] {escape(r['name'])}: {escape(r['diagnosis'])}",
            highlight=False,
            soft_wrap=True,
        )
    if len(flagged) > TOP:
        out_console.print(f"… {len(flagged) - TOP} more flagged in portfolio.csv (diagnosis)")


def flag(name: str) -> str:
    """The command-line spelling of a :func:`~roicast.batch.run_batch` option: ``dask_local`` → ``--dask-local``."""
    return "--" + name.replace("_", "-")


SpecsArg = Annotated[
    list[Path] | None,
    typer.Argument(help="Spec files (TOML), one project each.", show_default=False),
]
OutOpt = Annotated[
    Path,
    typer.Option(
        "--out", "-o", help="Output folder: portfolio.csv/.nc/.html, batch.json, projects/<name>/."
    ),
]
TemplateOpt = Annotated[
    Path | None, typer.Option(help="Template spec; with --table, one project per table row.")
]
TableOpt = Annotated[
    Path | None,
    typer.Option(
        help="CSV whose columns override template fields by dotted name "
        "(e.g. optimized.throughput_gain.mode, project.name)."
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        "-w",
        help="Local worker processes (default: one per core); 0: in this process.",
    ),
]
DaskLocalOpt = Annotated[
    int | None,
    typer.Option("--dask-local", help="Start a local Dask cluster with N worker processes."),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        help="Address of a running Dask scheduler (tcp://host:8786); "
        "--out and history files must be on a filesystem the workers share."
    ),
]
ResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume", help="Skip projects already finished in --out with the same spec and seed."
    ),
]
ReportOpt = Annotated[
    bool,
    typer.Option(
        "--report/--no-report",
        help="Per-project report.html/md, figures and results.nc, and portfolio.html.",
    ),
]
SensitivityOpt = Annotated[
    bool,
    typer.Option(
        "--sensitivity/--no-sensitivity",
        help="Full sensitivity analysis per project (Sobol, rankings, EVPPI…); tornado always.",
    ),
]
SeedOpt = Annotated[
    int, typer.Option("--seed", help="Batch seed; every project's seeds derive from it.")
]
DrawsOpt = Annotated[
    int | None,
    typer.Option(
        "--draws",
        "-n",
        help="Monte Carlo draws per project (overrides the specs; 100 .. 50 000 000).",
        min=100,
        max=50_000_000,
    ),
]
BudgetMonthsOpt = Annotated[
    float | None,
    typer.Option(
        "--budget-engineer-months",
        "--budget",
        help="Choose the projects that maximise expected NPV within this many engineer-months "
        "(mean implementation.engineer_months per project).",
        show_default=False,
    ),
]
BudgetMoneyOpt = Annotated[
    float | None,
    typer.Option(
        "--budget-money",
        help="Choose the projects that maximise expected NPV within this total mean investment.",
        show_default=False,
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def batch(
    specs: SpecsArg = None,
    out: OutOpt = Path("roicast-batch"),
    template: TemplateOpt = None,
    table: TableOpt = None,
    workers: WorkersOpt = None,
    dask_local: DaskLocalOpt = None,
    scheduler: SchedulerOpt = None,
    resume: ResumeOpt = False,
    report: ReportOpt = True,
    sensitivity: SensitivityOpt = True,
    seed: SeedOpt = 0,
    draws: DrawsOpt = None,
    budget_engineer_months: BudgetMonthsOpt = None,
    budget_money: BudgetMoneyOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Run many studies (locally or on Dask) and rank them: portfolio.csv, .nc and .html."""
    from roicast.batch import OptionError, run_batch

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
            budget_engineer_months=budget_engineer_months,
            budget_money=budget_money,
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
        msg = e.render(flag) if isinstance(e, OptionError) else str(e)
        err_console.print(f"[bold red]error:[/] {escape(msg)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    _print_summary(res)
    _print_failures(res)


def _print_failures(res) -> None:
    """The failed projects on stdout, then one ``error:`` line on stderr and exit 1."""
    if not res.counts["failed"]:
        return
    for r in res.failed[:TOP]:
        out_console.print(
            f"[red]failed:[/] {escape(r['name'])}: {escape(r['error'])}",
            highlight=False,
            soft_wrap=True,
        )
    first = min(res.failed, key=lambda r: r["name"])
    err_console.print(
        f"[bold red]error:[/] {res.counts['failed']} of {res.counts['total']} projects failed "
        f"(first: {escape(first['name'])}: {escape(first['error'])}); see portfolio.csv",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(1)


def main() -> None:  # pragma: no cover - exercised through a subprocess in the tests
    """``python -m roicast.batch_cli``: the batch command on its own."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(name="batch")(batch)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
