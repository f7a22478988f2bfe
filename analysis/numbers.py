"""Numbers as the reports carry them: plain floats, with NaN and infinity as None (JSON null)."""

from __future__ import annotations

import math


def finite(value) -> float | None:
    """A plain JSON number, or None for a missing value, NaN or infinity.

    >>> finite(2), finite(float("nan")), finite(None)
    (2.0, None, None)
    """
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
