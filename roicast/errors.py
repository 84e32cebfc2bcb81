"""The one domain exception of roicast.

Every stage (``roicast.forecast``, ``roicast.simulate``, ``roicast.sensitivity``)
and the front raise :class:`RoicastError` for bad input: a spec that breaks a
rule, a history file that cannot be read, a setting that cannot be used.  The
message is one line that names the field (or file and row), the value and the
rule.  The CLI turns it into that line and exit code 1, without a traceback.

This module imports nothing so that any stage may import it.
"""

from __future__ import annotations

__all__ = ["RoicastError"]


class RoicastError(ValueError):
    """Bad input to roicast: the message names the field, the value and the rule."""
