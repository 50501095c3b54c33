"""Indicator writers: with `indicators.ledger`, the only code that creates indicators or moves money between
their buckets. Each entry names its source document (or, for payments, the consuming document's key).

- :mod:`.sources`: source documents; :mod:`.creation`: indicators from a document (numbering, bulk validation).
- :mod:`.movements`: 分配, 追加, 追减, 调整, 冻结/解冻, 收回, 年末结转; the building blocks `indicators_carry` and
  `indicators_recall` carry or recall many locked indicators inside a caller's transaction (closing's batch).
- :mod:`.reallocations`: 调剂, submitted and reviewed; :mod:`.transfers`: 转移支付 下达 and 接收.

`source_document_create` and `indicators_create` serve other modules (budgeting's reply) inside the caller's
transaction (a savepoint), or in their own when called alone. The movements behind pages and the API own their
transaction (`durable=True`). The payment reservation (treasury's building blocks `indicator_reserve`,
`reservation_post`, `reservation_void`, `indicator_restore`) lives in :mod:`ibms.indicators.ledger` and is
re-exported here for its callers.

The fiscal year must accept the movement (`masterdata.selectors.fiscal_year_require`, purpose "indicator"): a
closed year refuses every movement and every new indicator (`fiscal_year_closed`), a year the region has not set
up refuses them too (`fiscal_year_missing`); a preparing year takes them (next year's 批复 is written while it
prepares). The payment side is not checked here (see the ledger). `fiscal_year_require_for` is re-exported for
treasury, which reaches the guard through this module.
"""

from ibms.masterdata.selectors import fiscal_year_require_for

from ..domain import Doc, IndicatorSpec, ReallocIn, Split
from ..ledger import indicator_hold, indicator_reserve, indicator_restore, reservation_post, reservation_void
from ._common import (
    CREATING_KINDS,
    DEFAULT_REALLOCATION_CHAIN,
    DEFAULT_TRANSFER_CHAIN,
    DOC_REALLOCATION,
    DOC_TRANSFER,
    INCREASE_KINDS,
)
from .creation import indicator_codes_next, indicators_create
from .movements import (
    indicator_adjust,
    indicator_carry_over,
    indicator_decrease,
    indicator_distribute,
    indicator_freeze,
    indicator_increase,
    indicator_recall,
    indicator_unfreeze,
    indicators_carry,
    indicators_recall,
)
from .reallocations import reallocation_review, reallocation_submit
from .sources import source_document_create
from .transfers import transfer_allot, transfer_receive

__all__ = [
    "CREATING_KINDS", "DEFAULT_REALLOCATION_CHAIN", "DEFAULT_TRANSFER_CHAIN", "DOC_REALLOCATION", "DOC_TRANSFER",
    "INCREASE_KINDS", "Doc", "IndicatorSpec", "ReallocIn", "Split", "fiscal_year_require_for", "indicator_adjust",
    "indicator_carry_over", "indicator_codes_next", "indicator_decrease", "indicator_distribute", "indicator_freeze",
    "indicator_hold",
    "indicator_increase", "indicator_recall", "indicator_reserve", "indicator_restore", "indicator_unfreeze",
    "indicators_carry", "indicators_create", "indicators_recall", "reallocation_review", "reallocation_submit",
    "reservation_post", "reservation_void",
    "source_document_create", "transfer_allot", "transfer_receive",
]
