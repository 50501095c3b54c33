"""/api/v1/closing/: the year-end checklist (`lifecycle`) and the other year-end routers mounted under it."""

from __future__ import annotations

from ninja import Router

from . import lifecycle

router = Router(tags=["年终结账"])
router.add_router("", lifecycle.router)
router.add_router("", "ibms.closing.api.carryover.router")
router.add_router("/final", "ibms.closing.final.api.router")
