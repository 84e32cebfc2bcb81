"""The ``roicast`` command line: parses arguments and delegates.

Bad input raises :class:`~roicast.errors.RoicastError` somewhere below; here it
becomes one line on stderr and exit code 1, without a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from roicast.errors import RoicastError

if TYPE_CHECKING:  # pragma: no cover
    from rich.table import Table

app = typer.Typer(
    name="roicast",
    help="Is an inference-optimization investment worth it? ROI, NPV and payback distributions from your traffic.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out_console = Console()
err_console = Console(stderr=True)

Draws = Annotated[
    int | None,
    typer.Option(
        "--draws",
        "-n",
        help="Monte Carlo draws (overrides [simulation] draws; 100 .. 50 000 000).",
        min=100,
        max=50_000_000,
    ),
]
Seed = Annotated[
    int | None, typer.Option("--seed", help="Random seed (overrides [simulation] seed).")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


def _fail(msg: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {msg}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(1)


def _one_line(msg: str) -> str:
    return msg.replace("[", "\\[")


@contextmanager
def _errors() -> Iterator[None]:
    """Bad input and file-system failures become one line on stderr and exit code 1."""
    try:
        yield
    except RoicastError as e:
        lines = [x for x in str(e).splitlines() if x.strip()]
        more = (
            f" (and {len(lines) - 1} more problem{'s' * (len(lines) > 2)})"
            if len(lines) > 1
            else ""
        )
        raise _fail(_one_line(lines[0] + more if lines else str(e))) from None
    except MemoryError:
        raise _fail("out of memory; ask for fewer draws or demand paths") from None
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        raise _fail(
            _one_line(
                f"{where}{e.strerror or e}; nothing was written (a previous output, if any, is intact)"
            )
        ) from None


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    if quiet or not err_console.is_terminal:
        yield None
        return
    from rich.progress import (  # here: --help and validate do not draw progress bars
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        yield update


def _headline_table(doc: dict[str, Any]) -> Table:
    """The P10 / P50 / P90 / mean table of NPV, ROI and payback."""
    from rich.table import Table

    from roicast.report._format import money, pct

    cur = doc["currency"]
    t = Table(
        title=doc["project"],
        caption=f"{doc['draws']} draws, seed {doc['seed']}, {doc['horizon_months']} months from "
        f"{doc['start_month']}; ± Monte Carlo standard error",
    )
    t.add_column("")
    for c in ("P10", "P50", "P90", "mean"):
        t.add_column(c, justify="right")

    def m(x):
        return money(x, cur)

    def mo(x):
        return "> horizon" if x is None else f"{x:.1f}"

    npv, roi, pb = doc["npv"], doc["roi"], doc["payback_months"]
    conv = doc.get("convergence", {})

    def se(stat: str) -> str:
        ok = stat in conv and conv[stat].get("se") is not None
        return f" ± {m(conv[stat]['se'])}" if ok else ""

    t.add_row(
        "NPV",
        *(m(npv[q]) + se(q) for q in ("p10", "p50", "p90")),
        f"{m(npv['mean'])} ± {m(npv['se_mean'])}",
    )
    t.add_row(
        "ROI",
        *(pct(roi[q]) for q in ("p10", "p50", "p90")),
        f"{pct(roi['mean'])} ± {pct(roi['se_mean'])}",
    )
    t.add_row("Payback (months)", mo(pb["p10"]), mo(pb["p50"]), mo(pb["p90"]), "")
    return t


def _print_decision(doc: dict[str, Any]) -> None:
    """Options, conditions, verdict, rule, drivers and warnings."""
    from roicast.report._format import money, pct

    cur = doc["currency"]
    dec = doc["decision"]
    colour = "green" if dec["verdict"] == "go" else "red"
    for o in doc.get("options", []):
        out_console.print(
            f"  option {o['name']}: mean NPV {money(o['npv']['mean'], cur)}, "
            f"P(NPV < 0) {pct(o['prob_npv_negative'])}, {o['decision']['verdict']}"
        )
    if "options" in doc:
        out_console.print(f"Recommended option: [bold]{doc['option']}[/]")
    pb = doc["payback_months"]
    out_console.print(
        f"P(NPV < 0): {pct(doc['prob_npv_negative'])}   "
        f"paid back within horizon: {pct(pb['prob_within_horizon'])}"
    )
    for c in dec["conditions"]:
        se = f" ± {c['se']:.3f}" if "se" in c else ""
        value = "not reached" if c["value"] is None else f"{c['value']:.3g}{se}"
        out_console.print(
            f"  {'pass' if c['passed'] else 'FAIL'}: {c['rule']}: {value} vs {c['threshold']}"
        )
    out_console.print(f"Verdict: [bold {colour}]{dec['verdict'].upper()}[/] ({dec['reason']})")
    if "rule_text" in dec:
        out_console.print(f"Rule: {dec['rule_text']}")
    for i, d in enumerate(doc.get("drivers", []), 1):
        out_console.print(f"  driver {i}: {d['text']}")
    for w in doc.get("diagnostics", {}).get("warnings", []):
        out_console.print(f"[yellow]Warning:[/] {w}")


def _print_until_stable(doc: dict[str, Any]) -> None:
    u = doc["until_stable"]
    ok = all(o["converged"] for o in u["options"].values())
    if "confidence" in u:
        state = (
            f"verdict settled at {u['confidence']:.0%} confidence, headline NPV within "
            f"±{u['tol']:.1%} of the investment"
            if ok
            else "NOT settled: cap reached"
        )
    else:
        state = "stable" if ok else "NOT stable: cap reached"
    out_console.print(f"Draws chosen by --until-stable {u['tol']}: {doc['draws']} ({state})")


def _headline(doc: dict[str, Any], out: Path | None) -> None:
    """What a run prints: the ask, the table, the decision, where the report is."""
    if "ask" in doc:
        out_console.print(f"[bold]{doc['ask']['description']}[/]: {doc['ask']['sentence']}")
    out_console.print(_headline_table(doc))
    _print_decision(doc)
    if "until_stable" in doc:
        _print_until_stable(doc)
    if out is not None:
        out_console.print(
            f"Report: {out / 'report.html'}  (also report.md, summary.json, results.nc, results.xlsx)"
        )


def _run(
    spec_path: Path,
    out: Path,
    draws: int | None,
    seed: int | None,
    quiet: bool,
    report: bool,
    until_stable: float | None = None,
    max_draws: int = 1_000_000,
    dask_local: int | None = None,
    scheduler: str | None = None,
) -> None:
    from roicast.excel import load_any_spec
    from roicast.report import write_report
    from roicast.report._io import check_destination, recover_leftovers
    from roicast.study import preflight, run_study, run_study_until_decided

    with _errors():
        spec = load_any_spec(spec_path)
        recover_leftovers(out)
        check_destination(out, option="--out")
        preflight(spec, draws=draws if until_stable is None else max_draws, seed=seed)
        with _dask_client(dask_local, scheduler) as client, _progress(quiet) as cb:
            if until_stable is None:
                result = run_study(spec, draws=draws, seed=seed, progress=cb, client=client)
            else:
                result = run_study_until_decided(
                    spec, until_stable, seed=seed, max_draws=max_draws, progress=cb, client=client
                )
            doc = write_report(result, out, report=report, option="--out")
    _headline(doc, out if report else None)


@contextmanager
def _dask_client(local: int | None, scheduler: str | None) -> Iterator[Any]:
    """``None``, or a client of the Dask cluster ``--dask-local`` starts / ``--scheduler`` names."""
    if local is None and scheduler is None:
        yield None
        return
    if local is not None and scheduler is not None:
        raise RoicastError("--dask-local and --scheduler exclude each other: give one of them")
    if scheduler is not None and not scheduler.strip():
        raise RoicastError("--scheduler: empty; give an address such as tcp://host:8786")
    from roicast.batch.execute import DaskExecutor
    from roicast.batch.options import OptionError

    ex = DaskExecutor(local=local, scheduler=scheduler)
    try:
        ex.__enter__()
    except OptionError as e:
        raise RoicastError(e.render(lambda name: "--" + name.replace("_", "-"))) from None
    try:
        yield ex.client
    finally:
        ex.__exit__(None, None, None)


@app.command()
def run(
    spec: Annotated[Path, typer.Argument(help="Study spec (TOML or .xlsx).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder (replaced whole).")
    ] = Path("results"),
    draws: Draws = None,
    seed: Seed = None,
    quiet: Quiet = False,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write report.md/html and figures.")
    ] = True,
    until_stable: Annotated[
        float | None,
        typer.Option(
            "--until-stable",
            help="Add draws in batches of 10 000 until the verdict is settled at 95 % confidence "
            "and the 95 % half-width of mean NPV and of its P10/P50/P90 is under this share of "
            "the investment (e.g. 0.01: ±1 % of the investment), then run with that many draws.",
        ),
    ] = None,
    max_draws: Annotated[
        int,
        typer.Option("--max-draws", help="Cap for --until-stable.", min=100, max=50_000_000),
    ] = 1_000_000,
    dask_local: Annotated[
        int | None,
        typer.Option(
            "--dask-local",
            help="Split the study's draws over a local Dask cluster of N worker processes "
            "(1 .. 64); the results equal a local run's.",
            min=1,
            max=64,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Split the study's draws over the Dask cluster at this scheduler address "
            "(tcp://host:8786); the results equal a local run's.",
        ),
    ] = None,
) -> None:
    """Run a study and write summary.json, results.nc, report.md and report.html."""
    _run(spec, out, draws, seed, quiet, report, until_stable, max_draws, dask_local, scheduler)


DEMOS = {
    "quantization": "quantization.toml",
    "options": "options.toml",
    "fleet": "fleet.toml",
    "onprem": "onprem.toml",
}


def demo_spec_path(example: str = "quantization") -> Path:
    """A built-in demo spec shipped inside the package."""
    from importlib.resources import files

    return Path(str(files("roicast.demo") / DEMOS[example]))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("roicast-demo"),
    example: Annotated[
        str,
        typer.Option(
            "--example",
            help="quantization: FP8 quantization of a chat model; options: FP8 vs continuous batching vs both; fleet: speculative decoding on an autoscaled, committed fleet (ServeGen traffic) vs an API; onprem: stay on cloud, buy GPU servers, or buy and quantize.",
        ),
    ] = "quantization",
    draws: Draws = None,
    seed: Seed = None,
    quiet: Quiet = False,
) -> None:
    """Run a built-in example study (FP8 quantization of a chat model, from 18 months of traffic)."""
    if example not in DEMOS:
        raise _fail(
            f"--example: {example!r} is not a built-in example; choose one of {', '.join(DEMOS)}"
        )
    _run(demo_spec_path(example), out, draws, seed, quiet, True)


@app.command()
def validate(spec: Annotated[Path, typer.Argument(help="Study spec (TOML or .xlsx).")]) -> None:
    """Check a spec (and its history file) without running it."""
    from roicast.excel import load_any_spec
    from roicast.forecast import read_history
    from roicast.inputs import option_distributions

    with _errors():
        s = load_any_spec(spec)
        extra = ""
        if s.demand.history is not None:
            h = read_history(
                s.history_path(),
                timestamp_column=s.demand.timestamp_column,
                volume_column=s.demand.volume_column,
                outliers=s.demand.outliers,
            )
            extra = f"; history: {len(h.series)} {h.freq} points of {h.unit_column!r}"
            for w in h.warnings:
                err_console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    n_unc = {
        o.name: sum(not d.is_fixed for d in option_distributions(s, o, n_paths=2).values())
        for o in s.options
    }
    opts = ", ".join(f"{k} ({v} uncertain inputs)" for k, v in n_unc.items())
    out_console.print(
        f"{spec}: OK — {s.project.name}; options: {opts}{extra}", highlight=False, soft_wrap=True
    )


def _backtest_table(df) -> None:
    from rich.table import Table

    cols = {
        "n_points": "points",
        "coverage_80": "80 % cover",
        "coverage_95": "95 % cover",
        "pinball": "pinball",
        "crps": "CRPS",
        "msis": "MSIS",
        "crps_ratio": "CRPS / s-naive",
    }
    t = Table(title="Backtest (rolling origin), by horizon bucket")
    t.add_column("horizon")
    for label in cols.values():
        t.add_column(label, justify="right")
    for idx, row in df.iterrows():
        t.add_row(str(idx), *(f"{row[c]:.3g}" if c in row else "" for c in cols))
    out_console.print(t)


@app.command()
def forecast(
    history: Annotated[
        Path, typer.Argument(help="Traffic history CSV (timestamp + volume columns).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("forecast"),
    horizon: Annotated[
        int, typer.Option("--horizon", help="Months to forecast.", min=1, max=600)
    ] = 36,
    paths: Annotated[
        int, typer.Option("--paths", help="Demand paths to simulate.", min=10, max=200_000)
    ] = 5000,
    column: Annotated[
        str | None, typer.Option("--column", help="Volume column (default: the only numeric one).")
    ] = None,
    timestamp_column: Annotated[
        str | None, typer.Option("--timestamp-column", help="Timestamp column.")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--start", help="First month, YYYY-MM (default: after the history)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.", min=0)] = 0,
    run_backtest: Annotated[
        bool, typer.Option("--backtest", help="Also score the intervals on held-out history.")
    ] = False,
    parameter_uncertainty: Annotated[
        bool,
        typer.Option(
            "--parameter-uncertainty/--no-parameter-uncertainty",
            help="Draw the ETS parameters from their posterior (parameter uncertainty).",
        ),
    ] = True,
    quiet: Quiet = False,
) -> None:
    """Forecast monthly demand from a traffic history: forecast.nc, fan.png, forecast.json."""
    from roicast.forecast import backtest, forecast_demand, read_history, write_forecast
    from roicast.report._io import atomic_dir, check_destination, recover_leftovers

    with _errors():
        recover_leftovers(out)
        check_destination(out, option="--out")
        hist = read_history(history, timestamp_column=timestamp_column, volume_column=column)
        with _progress(quiet) as cb:
            fc = forecast_demand(
                hist,
                horizon_months=horizon,
                start=start,
                n_paths=paths,
                seed=seed,
                parameter_uncertainty=parameter_uncertainty,
                progress=(lambda done, total: cb("forecast", done, total)) if cb else None,
            )
            bt = (
                backtest(hist, seed=seed, parameter_uncertainty=parameter_uncertainty)
                if run_backtest
                else None
            )
        with atomic_dir(out, option="--out") as tmp:
            write_forecast(fc, tmp, backtest=bt)
        files_written = [out / n for n in ("forecast.nc", "fan.png", "forecast.json")]
    out_console.print(f"model: {fc.model}", highlight=False)
    for w in fc.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    if bt is not None:
        _backtest_table(bt.table)
    out_console.print("wrote " + ", ".join(str(f) for f in files_written), highlight=False)


from roicast.batch_cli import batch as _batch  # noqa: E402
from roicast.excel.cli import convert as _convert  # noqa: E402
from roicast.excel.cli import template as _template  # noqa: E402
from roicast.priors.cli import new as _new  # noqa: E402
from roicast.priors.cli import priors as _priors  # noqa: E402
from roicast.serve.cli import serve as _serve  # noqa: E402

app.command(name="batch")(_batch)
app.command(name="new")(_new)
app.command(name="template")(_template)
app.command(name="convert")(_convert)
app.command(name="serve")(_serve)
app.command(name="priors")(_priors)


def _usage_line(e: Exception) -> str:
    """One line for a usage error: the command, the option, the value given and the rule."""
    ctx = getattr(e, "ctx", None)
    cmd = ctx.command_path if ctx is not None else "roicast"
    param = getattr(e, "param", None)
    msg = " ".join(str(getattr(e, "message", "") or e.format_message()).split())
    cause = e.__cause__
    if param is not None:
        name = "/".join(getattr(param, "opts", []) or [param.name or ""])
        value = ""
        if cause is not None and hasattr(cause, "errors"):
            value = f"value {cause.errors()[0].get('input')!r}; "
            msg = cause.errors()[0].get("msg", msg)
        return f"{cmd}: {name}: {value}{msg[0].lower() + msg[1:] if msg else msg}"
    return f"{cmd}: {msg}"


def main() -> None:  # pragma: no cover - console script entry point
    """The console script: usage errors are one line too (exit code 2)."""
    try:  # typer >= 0.25 vendors click
        from typer._click import exceptions as tex
    except ImportError:  # pragma: no cover
        from click import exceptions as tex

    try:
        rc = app(standalone_mode=False)
    except tex.UsageError as e:
        if type(e).__name__ == "NoArgsIsHelpError" and e.ctx is not None:
            print(e.ctx.get_help(), file=sys.stderr)
        else:
            print(f"error: {_usage_line(e)} (see --help)", file=sys.stderr)
        sys.exit(2)
    except tex.ClickException as e:
        print(f"error: {' '.join(e.format_message().split())}", file=sys.stderr)
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) else 0)
