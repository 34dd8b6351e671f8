"""The Lambda control plane in AWS's REST shapes: functions (control/functions.py) and event
source mappings (control/mappings.py), mounted by control/routes.py for server/router.py."""
from __future__ import annotations

__all__ = ["functions", "routes"]
