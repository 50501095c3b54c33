"""A computed 决算 table: its rows (an expanded row's children carry the code they stand for), the Report table the
page, Excel and PDF are rendered from, and the digest of its figures the generation step stores."""

from __future__ import annotations

from dataclasses import dataclass, field

from ibms.core.audit import canonical
from ibms.core.crypto import sm3_hex
from ibms.core.reports import MONEY, TEXT, ReportColumn, ReportTable

from .layouts import TableDef
from .scopes import Scope

BLANK_KEY = "-"  # an expanded child for lines without the code, in a drill-down address


@dataclass
class FinalRow:
    row_no: int
    key: str | None  # an expanded child's code ('' = blank); None for the row itself
    name: str
    values: list[int | None]
    bold: bool = False
    level: int = 0

    @property
    def label(self) -> str:
        return str(self.row_no) if self.key is None else ""

    def drill_query(self, col_no: int) -> str:
        q = f"row={self.row_no}&col={col_no}"
        return q if self.key is None else q + f"&key={self.key or BLANK_KEY}"


@dataclass
class FinalTable:
    definition: TableDef
    scope: Scope
    rows: list[FinalRow]
    problems: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.definition.title

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.definition.columns]

    @property
    def subtitle(self) -> str:
        return (f"{self.definition.report_no}　编制{self.scope.label}：{self.scope.name}　{self.scope.year}年度"
                f"　单位：元")

    def value(self, row_no: int, col_no: int = 1) -> int:
        r = next(r for r in self.rows if r.row_no == row_no and r.key is None)
        idx = [c.no for c in self.definition.columns].index(col_no)
        return r.values[idx] or 0

    def report(self) -> ReportTable:
        cols = [ReportColumn("项目", TEXT, 2.6), ReportColumn("行次", TEXT, 0.4)]
        cols += [ReportColumn(c, MONEY) for c in self.columns]
        body, bold = [], set()
        for i, r in enumerate(self.rows):
            body.append([("　" * r.level) + r.name, r.label, *r.values])
            if r.bold:
                bold.add(i)
        return ReportTable(self.title, cols, body, subtitle=self.subtitle, bold_rows=bold)

    def digest(self) -> str:
        data = [[r.row_no, r.key, r.values] for r in self.rows]
        return sm3_hex(canonical([self.definition.code, self.scope.token, self.scope.year, data]).encode())
