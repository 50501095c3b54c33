"""Deterministic synthetic data at four scales: `ibms gen --scale small|city|province|chongqing --seed N`.

Generation is a pipeline: `STAGES` is a list of `Stage(name, run, models)`; each `run(ctx)` takes the shared
`GenContext`, writes its rows in batches (bulk insert + audit in one transaction per batch) and may leave
objects on the context for later stages. The stages are the apps' own: every installed app's `gen.py` declares
`GEN_STAGES`, entries `(name, run, models)`, collected in INSTALLED_APPS (layer) order — masterdata's regions,
units, accounts, people and payees, iam's organisations, then projects, budgeting, accounting …; an entry
`(name, run, models, after)` runs right after the stage named `after` instead (indicators after budgeting: it
reads the reply that stage leaves on `ctx.data`). Every stage draws from its own random stream
(`ctx.rng(stage)`, seeded by the seed and the stage name), so appending a stage never changes what the earlier
stages produce. How codes are made: `masterdata/gen.py`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction

from ibms.core import audit, clock
from ibms.core.context import Actor, acting
from ibms.masterdata import models as m

from .registry import app_modules

BATCH_SIZE = 2000
EXIT_ALREADY_GENERATED = 3
EXIT_BAD_ARGUMENT = 2


class GenError(Exception):
    """A refusal with a stable exit code and a bilingual message."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_ARGUMENT):
        super().__init__(message)
        self.exit_code = exit_code


# --- scales ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scale:
    name: str
    default_prefix: str
    root_level: int  # 2 province/municipality, 3 city
    layout: tuple[int, ...]  # root L2: counties per city (cities = len); root L3: (counties,)
    direct_counties: int  # level-4 regions directly under a level-2 root (municipality, e.g. 重庆)
    units: int
    people_per_unit: tuple[int, int]  # inclusive range, per unit
    payees_per_unit: tuple[int, int]

    @property
    def region_count(self) -> int:
        return 1 + (len(self.layout) + sum(self.layout) if self.root_level == 2 else self.layout[0]) \
            + self.direct_counties


SCALES: dict[str, Scale] = {
    "small": Scale("small", "98", 2, (2, 2), 0, 60, (5, 11), (2, 2)),
    "city": Scale("city", "97", 3, (10,), 0, 800, (6, 16), (2, 3)),
    "province": Scale("province", "96", 2, (2,) * 7 + (1,) * 7, 0, 3_600, (8, 18), (2, 4)),
    "chongqing": Scale("chongqing", "95", 2, (), 41, 18_000, (8, 22), (2, 4)),
}


# --- pipeline ----------------------------------------------------------------------------------

@dataclass
class GenContext:
    scale: Scale
    seed: int
    prefix: str
    year: int
    progress: bool = True
    batch_size: int = BATCH_SIZE
    regions: list[m.Region] = field(default_factory=list)
    region_names: dict[str, str] = field(default_factory=dict)  # code → short name (青山区)
    unit_prefix: dict[str, str] = field(default_factory=dict)  # code → how its unit names start
    banks: dict[str, list[m.AgentBank]] = field(default_factory=dict)
    units: list[m.Unit] = field(default_factory=list)  # departments and units, in (region, code) order
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # stage → seconds
    stage_rows: dict[str, int] = field(default_factory=dict)  # stage → rows inserted
    data: dict[str, Any] = field(default_factory=dict)  # free room for later stages
    _used: dict[str, set[str]] = field(default_factory=dict)

    def rng(self, stage: str) -> random.Random:
        return random.Random(f"ibms-gen:{self.seed}:{stage}")

    def unique(self, kind: str, make: Callable[[], str]) -> str:
        """A value from `make` not handed out before under `kind` (codes that must not repeat)."""
        used = self._used.setdefault(kind, set())
        while True:
            value = make()
            if value not in used:
                used.add(value)
                return value

    def bar(self, desc: str, total: int):
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="行", disable=not self.progress, leave=True,
                    dynamic_ncols=True, mininterval=0.5)

    def insert(self, model: type[models.Model], objs: Iterable[models.Model], *, total: int,
               desc: str | None = None) -> list[models.Model]:
        """Bulk insert in batches; each batch and its audit rows commit together. Returns the saved objects
        only for small models (kept for later stages); large ones are streamed."""
        keep: list[models.Model] = []
        keep_all = total <= 50_000
        with self.bar(desc or model._meta.model_name, total) as bar:
            for chunk in _chunks(objs, self.batch_size):
                with transaction.atomic():
                    model.objects.bulk_create(chunk)
                    audit.record_changes(chunk, "create")
                bar.update(len(chunk))
                self.counts[model._meta.model_name] = self.counts.get(model._meta.model_name, 0) + len(chunk)
                if keep_all:
                    keep.extend(chunk)
        return keep


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[GenContext], None]
    models: tuple[type[models.Model], ...] = ()  # what it writes: the digest and the bench read these


STAGES: list[Stage] = []


def register_stage(stage: Stage, *, after: str | None = None) -> None:
    """Append a stage (or insert it after a named one). Re-registering a name replaces it in place."""
    for i, s in enumerate(STAGES):
        if s.name == stage.name:
            STAGES[i] = stage
            return
    if after is None:
        STAGES.append(stage)
    else:
        STAGES.insert([s.name for s in STAGES].index(after) + 1, stage)


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def check_prefix(prefix: str) -> None:
    if not (len(prefix) == 2 and prefix.isdigit() and 90 <= int(prefix) <= 98):
        raise GenError(f"省级代码前缀应为90至98的两位数字（99为演示省华夏省）：{prefix!r} / "
                       f"--province must be two digits 90-98 (99 is the demo province)")
    existing = m.Region.objects.filter(code__startswith=prefix).order_by("code").first()
    if existing is not None:
        raise GenError(f"区划代码前缀 {prefix} 下已有数据（{existing}），不重复生成；请换用 --province 或新的数据库。 / "
                       f"province prefix {prefix} already holds data ({existing.code}); refusing to generate twice "
                       f"— pick another --province or a fresh database.", EXIT_ALREADY_GENERATED)


def generate(scale: str, seed: int, *, prefix: str | None = None, progress: bool = True,
             stages: list[Stage] | None = None, batch_size: int = BATCH_SIZE) -> GenContext:
    import time

    if scale not in SCALES:
        raise GenError(f"未知规模 {scale!r}，可选 {', '.join(SCALES)} / unknown scale")
    spec = SCALES[scale]
    ctx = GenContext(scale=spec, seed=seed, prefix=prefix or spec.default_prefix,
                     year=clock.fiscal_year(), progress=progress, batch_size=batch_size)
    check_prefix(ctx.prefix)
    with acting(Actor(user_id=None, username="ibms-gen"), request_id=f"gen:{scale}:{seed}:{ctx.prefix}"):
        for stage in STAGES if stages is None else stages:
            started, rows_before = time.perf_counter(), sum(ctx.counts.values())
            stage.run(ctx)
            ctx.timings[stage.name] = time.perf_counter() - started
            ctx.stage_rows[stage.name] = sum(ctx.counts.values()) - rows_before
            analyze([stage])  # later stages query what this one loaded: the planner needs its statistics
    return ctx


def _register_app_stages() -> None:
    """Every app's `GEN_STAGES` in INSTALLED_APPS order; the entries that name a stage to follow are placed last."""
    following: list[tuple[Stage, str]] = []
    for module in app_modules("gen"):
        for name, run, written, *after in getattr(module, "GEN_STAGES", ()):
            stage = Stage(name, run, tuple(written))
            if after:
                following.append((stage, after[0]))
            else:
                register_stage(stage)
    for stage, after in following:
        if after not in {s.name for s in STAGES}:
            raise ImproperlyConfigured(f"gen stage {stage.name!r} runs after {after!r}, which no app declares")
        register_stage(stage, after=after)


_register_app_stages()


# --- digest ------------------------------------------------------------------------------------

_SKIP = {"id", "created_at", "updated_at"}


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.date) else v


def digest(prefix: str, stages: list[Stage] | None = None) -> str:
    """A stable SHA-256 over every generated row of a province, ids, timestamps and row order left out
    (foreign keys by the referenced row's code), so two runs — on SQLite or PostgreSQL — can be compared.
    Foreign keys are resolved in Python, not by joins: right after a bulk load the planner has no statistics."""
    h = hashlib.sha256()
    seen: set[type[models.Model]] = set()
    codes: dict[type[models.Model], dict[Any, str]] = {}
    for stage in STAGES if stages is None else stages:
        for model in stage.models:
            if model in seen:
                continue
            seen.add(model)
            fields, lookups = [], []
            for f in model._meta.concrete_fields:
                if f.name in _SKIP:
                    continue
                fields.append(f.attname)
                related = f.related_model if f.is_relation else None
                if related is not None and any(rf.name == "code" for rf in related._meta.concrete_fields):
                    if related not in codes:
                        codes[related] = dict(related._base_manager.values_list("pk", "code").iterator(chunk_size=5000))
                    lookups.append(codes[related])
                elif related is not None:
                    fields.pop()  # a reference without a natural key (e.g. a user) is left out
                else:
                    lookups.append(None)
            region_field = "code" if model is m.Region else "region_code"
            rows = sorted(
                json.dumps([_plain(v) if lk is None else lk.get(v) for v, lk in zip(row, lookups, strict=True)],
                           ensure_ascii=False, separators=(",", ":"))
                for row in model._base_manager.filter(**{f"{region_field}__startswith": prefix})
                .values_list(*fields).iterator(chunk_size=5000))
            h.update(f"{model._meta.label_lower}:{len(rows)}\n".encode())
            for line in rows:
                h.update(line.encode())
                h.update(b"\n")
    return h.hexdigest()


def analyze(stages: list[Stage] | None = None) -> None:
    """Refresh PostgreSQL planner statistics after a bulk load (SQLite plans well without)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    tables = {model._meta.db_table for stage in (STAGES if stages is None else stages) for model in stage.models}
    with connection.cursor() as cur:
        for table in sorted(tables | {"core_changelog", "core_auditchain"}):
            cur.execute(f'ANALYZE "{table}"')
