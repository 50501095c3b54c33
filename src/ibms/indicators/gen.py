"""`ibms gen` stages of this app: (name, run(ctx), models written). demo/generator.py registers them in order.

Stage ``indicators`` — turns the budgeting stage's reply into the indicator ledger.

Contract with the budgeting stage: it leaves ``ctx.data["reply"]`` = a list of plain dicts, one per
reply (批复) line. If the key is missing (or empty) this stage does nothing. Keys (all required unless a
default is given):

    region_code      str   9-digit region code, e.g. "990000000"
    year             int   budget year
    unit_id          int | None   masterdata.Unit pk of the owning unit (None = finance-held 待分)
    department_id    int | None   masterdata.Unit pk of the unit's department (default: None)
    project_id       int | None   projects.Project pk (default: None)
    fund_nature_code str   资金性质, e.g. "11"
    exp_func_code    str   支出功能分类 (to 项, 7 digits)
    gov_eco_code     str   政府预算支出经济分类 (default "")
    dep_eco_code     str   部门预算支出经济分类 (default "")
    pay_type_code    str   支付方式 (default "")
    source_type_code str   指标来源 value-set code (default "")
    bgt_type_code    str   指标类型 (default "")
    amount           int   fen, > 0
    is_executable    bool  default True
    is_gov_pur       bool  default False
    is_track         bool  default False   直达资金
    is_sanbao        bool  default False   三保
    is_sangong       bool  default False   三公
    doc_no           str   reply document number; lines sharing (region_code, doc_no) share one
                           SourceDocument (kind budget_reply)
    doc_title        str   document title (default: "<year>年部门预算批复")
    doc_date         datetime.date   document date (default: <year>-01-31)

One SourceDocument per (region_code, doc_no), one Indicator + one creation IndicatorEntry per dict.
"""

GEN_STAGES: list = []
