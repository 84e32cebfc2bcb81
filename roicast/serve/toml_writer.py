"""The what-if page writes specs with roicast's one TOML writer (:mod:`roicast._toml`)."""

from roicast._toml import dumps

__all__ = ["dumps"]
