"""The options of a batch, checked once, and the error that names them.

Library messages name options by their :func:`~roicast.batch.run_batch`
parameter names (``out``, ``workers``, ``scheduler``); a front end that spells
them differently (the CLI's ``--out``, ``--dask-local``) re-renders an
:class:`OptionError` with :meth:`OptionError.render`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from roicast.errors import RoicastError

__all__ = ["OPTION_NAMES", "BatchOptions", "OptionError", "cores"]

#: Parameters of :func:`roicast.batch.run_batch` an :class:`OptionError` may name.
OPTION_NAMES = frozenset(
    {
        "specs",
        "out",
        "template",
        "table",
        "seed",
        "draws",
        "workers",
        "dask_local",
        "scheduler",
        "resume",
        "report",
        "sensitivity",
        "budget_engineer_months",
        "budget_money",
    }
)

#: Seeds are drawn from ``[0, 2**63)``.
SEED_LIMIT = 2**63
#: Fewest Monte Carlo draws a batch accepts.
MIN_DRAWS = 100

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class OptionError(RoicastError):
    """A bad option of a batch, one line naming the option, the value and the rule.

    Parameters
    ----------
    template : str
        The message, with each option written ``{name}`` (a name in
        :data:`OPTION_NAMES`); ``str(error)`` spells them as the parameter
        names, :meth:`render` as a front end wants (``--dask-local``).
    """

    def __init__(self, template: str) -> None:
        self.template = template
        super().__init__(self.render(lambda name: name))

    def __reduce__(self):  # pickles by its template (the rendered text is derived)
        return (type(self), (self.template,))

    def render(self, spell: Callable[[str], str]) -> str:
        """The message with every ``{option}`` spelled ``spell(option)``."""

        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            return spell(name) if name in OPTION_NAMES else m.group(0)

        return _PLACEHOLDER.sub(sub, self.template)


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs: the options of :func:`roicast.batch.run_batch` except the inputs.

    Build it with :meth:`checked`, which refuses bad values and bad
    combinations with an :class:`OptionError`.
    """

    out: Path
    seed: int = 0
    draws: int | None = None
    workers: int | None = None
    dask_local: int | None = None
    scheduler: str | None = None
    resume: bool = False
    report: bool = True
    sensitivity: bool = True
    budget_engineer_months: float | None = None
    budget_money: float | None = None

    @classmethod
    def checked(cls, **kwargs) -> BatchOptions:
        """The options, after refusing what cannot work (an :class:`OptionError`)."""
        opts = cls(**kwargs)
        opts._check_backend()
        opts._check_values()
        return opts

    def _check_backend(self) -> None:
        if self.dask_local is not None and self.scheduler is not None:
            raise OptionError(
                "{dask_local} and {scheduler} exclude each other: "
                "start a local cluster or use an existing one"
            )
        if self.workers is not None and (self.dask_local is not None or self.scheduler is not None):
            raise OptionError("{workers} sets local processes; with Dask the cluster's workers run")
        if self.workers is not None and self.workers < 0:
            raise OptionError(f"{{workers}}: {self.workers}; give 0 (in this process) or more")
        if self.dask_local is not None and self.dask_local < 1:
            raise OptionError(f"{{dask_local}}: {self.dask_local}; give at least 1 worker")
        if self.scheduler is not None and not str(self.scheduler).strip():
            raise OptionError("{scheduler}: empty; give an address such as tcp://host:8786")

    def _check_values(self) -> None:
        if not 0 <= self.seed < SEED_LIMIT:
            raise OptionError(f"{{seed}}: {self.seed} must be in 0 .. 2**63 - 1")
        if self.draws is not None and self.draws < MIN_DRAWS:
            raise OptionError(f"{{draws}}: {self.draws} is too few; use at least {MIN_DRAWS}")
        for name in ("budget_engineer_months", "budget_money"):
            value = getattr(self, name)
            if value is not None and not (value >= 0 and value < float("inf")):
                raise OptionError(f"{{{name}}}: {value}; give a finite number ≥ 0")

    @property
    def backend(self) -> str:
        """``"dask-local"``, ``"dask"``, ``"processes"`` or ``"in-process"``."""
        if self.dask_local is not None:
            return "dask-local"
        if self.scheduler is not None:
            return "dask"
        return "processes" if self.n_workers else "in-process"

    @property
    def n_workers(self) -> int | None:
        """Worker processes asked for (None: a remote cluster's own)."""
        if self.dask_local is not None:
            return self.dask_local
        if self.scheduler is not None:
            return None
        return cores() if self.workers is None else self.workers

    @property
    def budgets(self) -> dict[str, float]:
        """The budgets given, by resource: ``engineer_months``, ``money``."""
        pairs = (
            ("engineer_months", self.budget_engineer_months),
            ("money", self.budget_money),
        )
        return {k: float(v) for k, v in pairs if v is not None}
