"""Budget preparation writers: rounds and their stages, budget lines of the open version, ceilings,
submissions (unit → department → finance), legislature approval and the 批复 that creates indicators.

- :mod:`.rounds`: create, close 一上, start 二上, consolidate, record the approval.
- :mod:`.ceilings`: 控制数; :mod:`.submissions`: 报送, accept, return.
- :mod:`.lines` (with :mod:`.line_values`, the checks of a line's values): create, update, delete, 生成.
- :mod:`.replies`: finance's 批复 (indicators) and the departments' replies to their units.

Concurrency: a line write locks its department's submission row of that version; a stage change locks the
round and then every submission of the round, so it waits for line writes in flight and they, once they get
their lock, see the new stage."""

from ._common import PREPARE_DOC, ROUND_DOC, UNIT_REPLY_DOC, VERSION_LABEL
from .ceilings import CeilingData, ceiling_delete, ceiling_set
from .line_values import LineData
from .lines import line_create, line_delete, line_update, lines_generate
from .replies import round_reply, unit_replies_record
from .rounds import (
    round_approval_record,
    round_consolidate,
    round_create,
    round_first_up_close,
    round_second_up_start,
)
from .submissions import submission_accept, submission_return, submission_submit

__all__ = [
    "PREPARE_DOC", "ROUND_DOC", "UNIT_REPLY_DOC", "VERSION_LABEL", "CeilingData", "LineData", "ceiling_delete",
    "ceiling_set", "line_create", "line_delete", "line_update", "lines_generate", "round_approval_record",
    "round_consolidate", "round_create", "round_first_up_close", "round_reply", "round_second_up_start",
    "submission_accept", "submission_return", "submission_submit", "unit_replies_record",
]
