"""roicast: is an inference-optimization investment worth it?

Forecast your traffic, simulate the cash flows of an optimization under
uncertain demand, GPU prices, efficacy and model churn, and get ROI, NPV and
payback distributions, sensitivity rankings and a go/no-go verdict.

The stages are importable on their own: :mod:`roicast.forecast`,
:mod:`roicast.simulate`, :mod:`roicast.sensitivity`.  The front:
:func:`load_spec`, :func:`run_study`, :func:`write_report`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("roicast")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

from roicast.errors import RoicastError
from roicast.spec import Spec, load_spec, spec_from_dict

__all__ = ["RoicastError", "Spec", "__version__", "load_spec", "spec_from_dict"]
