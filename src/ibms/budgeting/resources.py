"""Reply deadlines (批复时限) declared as a resource: list, edit, Excel and API come with it."""

from __future__ import annotations

from ibms.core.errors import invalid
from ibms.core.excel import Column
from ibms.core.resources import Resource, register

from .forms import ReplyDeadlineForm
from .models import ReplyDeadline


def _region_from_actor(obj, user) -> None:
    if obj._state.adding and not obj.region_code:
        obj.region_code = getattr(user, "region_code", "") or ""
        if not obj.region_code:
            raise invalid("no_region", "当前用户未归属任何财政区划，不能维护业务数据")


register(Resource(
    ReplyDeadline, "reply-deadlines", "批复时限", ReplyDeadlineForm, ["level", "days", "region_code", "basis"],
    group="预算编制", filter_fields=["level"], natural_key=["level"], prepare=_region_from_actor,
    excel=[Column("level", "层级", True, kind="choice", choices=ReplyDeadline.Level.choices),
           Column("days", "时限（天）", True, kind="int"), Column("basis", "依据")],
))
