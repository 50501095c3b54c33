"""Audit: a generic change log and typed business events, both append-only and SM3 hash-chained.

Written by services inside their own transaction, so a change and its audit commit together.
`ibms verify` walks every chain and compares every audited row with its last logged state, so an
edit behind the application's back (raw SQL on a business row or an audit row) is named.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from .context import current_actor, current_request_id
from .crypto import sm3_hex
from .models import AuditChain, BusinessEvent, ChainedEntry, ChangeLog
from .transactions import require_callers_transaction

_AUDITED: dict[type[models.Model], frozenset[str]] = {}
GENESIS = "0" * 64


def audited(model=None, *, exclude: tuple[str, ...] = ()):
    """Class decorator: rows of this model are compared with their change log by `ibms verify`.
    `exclude` names bookkeeping columns written outside services (e.g. last_login), left out of snapshots."""
    def wrap(cls):
        _AUDITED[cls] = frozenset(exclude)
        return cls
    return wrap(model) if model is not None else wrap


def label_of(model: type[models.Model] | models.Model) -> str:
    return model._meta.label_lower


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def _field_names(model: type[models.Model]) -> list[str]:
    skip = _AUDITED.get(model, frozenset())
    return [f.attname for f in model._meta.concrete_fields if f.attname not in skip]


def canonical(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def snapshot_rows(model: type[models.Model], pks: Iterable[Any] | None = None) -> dict[str, dict]:
    """Rows as the database holds them, keyed by str(pk); the same form at write time and at verify time."""
    qs = model._base_manager.all()
    if pks is not None:
        qs = qs.filter(pk__in=list(pks))
    return {str(row[model._meta.pk.attname]): {k: _plain(v) for k, v in row.items()}
            for row in qs.values(*_field_names(model)).iterator(chunk_size=2000)}


def row_hash(snapshot: dict | None) -> str:
    return sm3_hex(canonical(snapshot).encode()) if snapshot is not None else ""


def _entry_payload(entry: ChainedEntry) -> str:
    fields = {f.attname: _plain(getattr(entry, f.attname)) for f in type(entry)._meta.concrete_fields
              if f.attname not in ("id", "hash")}
    return canonical(fields)


def entry_hash(entry: ChainedEntry) -> str:
    return sm3_hex((entry.prev_hash + _entry_payload(entry)).encode())


def _head(key: str) -> AuditChain:
    chain = AuditChain.objects.select_for_update().filter(key=key).first()
    if chain is None:
        try:
            with transaction.atomic():
                AuditChain.objects.create(key=key)
        except IntegrityError:
            pass
        chain = AuditChain.objects.select_for_update().get(key=key)
    return chain


def shard_keys(base_key: str, shards: int) -> list[str]:
    """The chain keys of one (kind, region): the base key, then `base~1` … `base~{shards-1}`."""
    return [base_key, *(f"{base_key}~{i}" for i in range(1, shards))]


def _lock_chain(base_key: str) -> AuditChain:
    """Lock a chain head of this (kind, region) until commit. With several shards (PostgreSQL), a writer takes
    one no other transaction holds (SKIP LOCKED), preferring the one it used last, so concurrent writers in one
    region don't queue behind each other; each shard is still one linear, verifiable chain."""
    conn = transaction.get_connection()
    shards = 1 if conn.vendor == "sqlite" else settings.IBMS_AUDIT_SHARDS
    if shards <= 1:
        return _head(base_key)
    keys = shard_keys(base_key, shards)
    hints = conn.__dict__.setdefault("ibms_chain_hints", {})
    free = AuditChain.objects.select_for_update(skip_locked=True)
    chain = None
    if hints.get(base_key):  # held by this transaction already, or free: either way no wait
        chain = free.filter(key=hints[base_key]).first()
    if chain is None:
        chain = free.filter(key__in=keys).order_by("?").first()
    if chain is None:  # every head is taken — or not there yet: create the missing ones, then wait only if full
        AuditChain.objects.bulk_create([AuditChain(key=k) for k in keys], ignore_conflicts=True)
        chain = free.filter(key__in=keys).order_by("?").first() or _head(random.choice(keys))
    hints[base_key] = chain.key
    return chain


def _append(entries: list[ChainedEntry], chain_key: str) -> None:
    """Link entries onto the chain head (locked until commit) and insert them."""
    chain = _lock_chain(chain_key)
    prev, seq = chain.last_hash, chain.last_seq
    for e in entries:
        seq += 1
        e.chain, e.seq, e.prev_hash = chain.key, seq, prev
        e.hash = prev = entry_hash(e)
    type(entries[0]).objects.bulk_create(entries, batch_size=1000)
    AuditChain.objects.filter(pk=chain.pk).update(last_seq=seq, last_hash=prev)


def _base(region_code: str, obj: models.Model | None) -> dict[str, Any]:
    actor = current_actor()
    return {
        "created_at": timezone.now(),
        "actor_id": actor.user_id,
        "actor_name": actor.username[:150],
        "actor_ip": actor.ip,
        "request_id": current_request_id(),
        "region_code": region_code or "",
        "object_type": label_of(obj) if obj is not None else "",
        "object_id": str(obj.pk) if obj is not None else "",
        "object_repr": str(obj)[:200] if obj is not None else "",
    }


def _region_of(obj: models.Model) -> str:
    return getattr(obj, "region_code", "") or ""


def record_changes(objs: list[models.Model], action: str, before: dict[str, dict] | None = None) -> None:
    """Log create/update/delete of rows already written in this transaction (after-state read back)."""
    if not objs:
        return
    require_callers_transaction("core.audit.record_changes")
    model = type(objs[0])
    after = {} if action == ChangeLog.Action.DELETE else snapshot_rows(model, [o.pk for o in objs])
    by_chain: dict[str, list[ChangeLog]] = {}
    for obj in objs:
        key = str(obj.pk)
        snap = after.get(key)
        entry = ChangeLog(action=action, before=(before or {}).get(key), after=snap, row_hash=row_hash(snap),
                          **_base(_region_of(obj), obj))
        by_chain.setdefault("change:" + entry.region_code, []).append(entry)
    for chain_key, entries in sorted(by_chain.items()):
        _append(entries, chain_key)


def record_change(obj: models.Model, action: str, before: dict | None = None) -> None:
    record_changes([obj], action, {str(obj.pk): before} if before is not None else None)


def snapshot(obj: models.Model) -> dict | None:
    return snapshot_rows(type(obj), [obj.pk]).get(str(obj.pk))


def update_fields(obj: models.Model, before: dict | None = None, **values: Any) -> models.Model:
    """Set `values` on `obj`, save just those fields (and `updated_at` when the model has it) and log the change
    against `before` (the row's state as it was read; taken here when not given). The one way a service updates
    an audited row — instead of snapshot → assign → save → record by hand."""
    if before is None:
        before = snapshot(obj)
    for name, value in values.items():
        setattr(obj, name, value)
    names = list(values)
    if any(f.name == "updated_at" for f in obj._meta.concrete_fields) and "updated_at" not in names:
        names.append("updated_at")
    obj.save(update_fields=names)
    record_change(obj, "update", before)
    return obj


def record_event(code: str, *, region_code: str = "", obj: models.Model | None = None, message: str = "",
                 payload: dict | None = None) -> BusinessEvent:
    entry = BusinessEvent(code=code, message=message[:300], payload=payload or {}, **_base(region_code, obj))
    if obj is not None and not region_code:
        entry.region_code = _region_of(obj)
    _append([entry], "event:" + entry.region_code)
    return entry


def record_event_now(code: str, **kwargs) -> None:
    """An event that must survive even when the surrounding work fails (denials, failed logins)."""
    with transaction.atomic():
        record_event(code, **kwargs)


# --- verification -----------------------------------------------------------------------------

def _absent_ids(model, low: int, high: int | None) -> list[int]:
    """Ids in (low, high) no row of the table has: where deleted entries were, when the count matches."""
    if high is None or high - low > 10_000:
        return []
    present = set(model._base_manager.filter(pk__gt=low, pk__lt=high).values_list("pk", flat=True))
    return [i for i in range(low + 1, high) if i not in present]


def _deleted(model, chain: str, first_seq: int, last_seq: int, after_id: int | None, before_id: int | None) -> str:
    table = model._meta.db_table
    seqs = f"seq {first_seq}" if first_seq == last_seq else f"seq {first_seq}-{last_seq}"
    absent: list[int] = []
    if before_id is not None:
        low = after_id or (model._base_manager.filter(pk__lt=before_id).order_by("-pk")
                           .values_list("pk", flat=True).first() or 0)
        absent = _absent_ids(model, low, before_id)
    if len(absent) == last_seq - first_seq + 1:
        where = "id=" + ", id=".join(map(str, absent))
    elif before_id is None:
        where = f"after id={after_id}"
    else:
        where = f"between id={after_id} and id={before_id}" if after_id else f"before id={before_id}"
    return f"audit rows deleted: {table} {where} (chain {chain} {seqs} missing)"


def verify_chains() -> list[str]:
    problems: list[str] = []
    heads = {c.key: c for c in AuditChain.objects.all()}
    for model in (ChangeLog, BusinessEvent):
        prefix = "change:" if model is ChangeLog else "event:"
        prev: dict[str, tuple[int, str, int | None]] = {}
        for e in model._base_manager.order_by("chain", "seq").iterator(chunk_size=2000):
            last_seq, last_hash, last_id = prev.get(e.chain, (0, GENESIS, None))
            name = f"{model._meta.db_table} id={e.pk} (chain {e.chain} seq {e.seq})"
            if e.seq > last_seq + 1:
                problems.append(_deleted(model, e.chain, last_seq + 1, e.seq - 1, last_id, e.pk))
            elif e.seq != last_seq + 1:
                problems.append(f"audit chain broken: {name} repeats or reorders seq {last_seq}")
            if e.prev_hash != last_hash:
                problems.append(f"audit chain broken: {name} prev_hash does not match the previous entry")
            if entry_hash(e) != e.hash:
                problems.append(f"audit row tampered: {name} content does not match its hash")
            prev[e.chain] = (e.seq, e.hash, e.pk)
        for key, (seq, h, last_id) in prev.items():
            head = heads.get(key)
            if head is None:
                problems.append(f"audit chain head missing for {key} ({model._meta.db_table} up to id={last_id})")
            elif head.last_seq > seq:
                problems.append(_deleted(model, key, seq + 1, head.last_seq, last_id, None))
            elif head.last_seq != seq or head.last_hash != h:
                problems.append(f"audit chain head mismatch for {key}: {model._meta.db_table} ends at id={last_id} "
                                f"seq {seq}, the head says seq {head.last_seq}")
        for key, head in heads.items():
            if key.startswith(prefix) and key not in prev and head.last_seq:
                problems.append(f"audit rows deleted: {model._meta.db_table} chain {key} is empty but its head "
                                f"says {head.last_seq} entries")
    return problems


def verify_rows() -> list[str]:
    """Every audited row equals its last logged state; every logged live row exists."""
    problems: list[str] = []
    for model in _AUDITED:
        label = label_of(model)
        last: dict[str, tuple[str, str]] = {}
        for oid, action, rh in (ChangeLog._base_manager.filter(object_type=label).order_by("id")
                                .values_list("object_id", "action", "row_hash").iterator(chunk_size=5000)):
            last[oid] = (action, rh)
        rows = snapshot_rows(model)
        for pk, snap in rows.items():
            logged = last.get(pk)
            if logged is None:
                problems.append(f"{model._meta.db_table} id={pk}: row written outside the application (no audit)")
            elif logged[0] == ChangeLog.Action.DELETE or logged[1] != row_hash(snap):
                problems.append(f"{model._meta.db_table} id={pk}: row differs from its last audited state "
                                f"(changed outside the application)")
        for pk, (action, _) in last.items():
            if action != ChangeLog.Action.DELETE and pk not in rows:
                problems.append(f"{model._meta.db_table} id={pk}: row deleted outside the application")
    return problems
