"""REST API of the year end: /api/v1/closing/…"""

from __future__ import annotations

from ninja import Router

router = Router(tags=["年终结账"])
