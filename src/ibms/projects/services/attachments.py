"""Attachments of a draft project (立项依据、测算说明…): type checked by extension and leading bytes."""

from __future__ import annotations

import os

from django.conf import settings
from django.db import transaction

from ibms.core import audit
from ibms.core.errors import Conflict, invalid
from ibms.core.scoping import CHANGE, get_in_scope, require_perm

from ..models import Attachment
from ._common import S, _project_for_change

ATTACHMENT_TYPES = {  # extension → accepted leading bytes (docx/xlsx are zip containers, doc/xls OLE2)
    ".pdf": (b"%PDF",), ".png": (b"\x89PNG",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
    ".docx": (b"PK\x03\x04",), ".xlsx": (b"PK\x03\x04",), ".zip": (b"PK\x03\x04",),
    ".doc": (b"\xd0\xcf\x11\xe0",), ".xls": (b"\xd0\xcf\x11\xe0",), ".ofd": (b"PK\x03\x04",),
}
DEFAULT_ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024


def attachment_add(*, actor, project_id: int, upload) -> Attachment:
    """An attachment (立项依据、测算说明…) on a draft; size and type checked by extension and content."""
    require_perm(actor, "projects.change_project")
    name = os.path.basename(getattr(upload, "name", "") or "")
    ext = os.path.splitext(name)[1].lower()
    limit = getattr(settings, "IBMS_ATTACHMENT_MAX_BYTES", DEFAULT_ATTACHMENT_MAX_BYTES)
    if ext not in ATTACHMENT_TYPES:
        raise invalid("attachment_type", "附件类型不允许，只能上传 " + "、".join(sorted(ATTACHMENT_TYPES)), "file")
    size = getattr(upload, "size", 0) or 0
    if size <= 0:
        raise invalid("attachment_empty", "附件是空文件", "file")
    if size > limit:
        raise invalid("attachment_too_large", f"附件不能超过 {limit // (1024 * 1024)} MB", "file")
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if not any(head.startswith(magic) for magic in ATTACHMENT_TYPES[ext]):
        raise invalid("attachment_content", "附件内容与扩展名不符", "file")
    with transaction.atomic(durable=True):
        p = _project_for_change(actor, project_id)
        if p.status != S.DRAFT:
            raise Conflict("not_editable", "只有草稿或被退回的项目可以上传附件")
        att = Attachment(project=p, region_code=p.region_code, name=name[:200], size=size,
                         content_type=(getattr(upload, "content_type", "") or "")[:100], uploaded_by=actor)
        att.file.save(name, upload, save=False)
        att.save()
        audit.record_change(att, "create")
        return att


def attachment_remove(*, actor, attachment_id: int) -> None:
    require_perm(actor, "projects.change_project")
    with transaction.atomic(durable=True):
        att = get_in_scope(Attachment.objects.select_related("project"), actor, CHANGE, what="附件",
                           permission="projects.change_project", pk=attachment_id)
        p = _project_for_change(actor, att.project_id)
        if p.status != S.DRAFT:
            raise Conflict("not_editable", "只有草稿或被退回的项目可以删除附件")
        before = audit.snapshot_rows(Attachment, [att.pk])
        storage, path, pk = att.file.storage, att.file.name, att.pk
        att.delete()
        att.pk = pk  # the log names the deleted row
        audit.record_changes([att], "delete", before)
        transaction.on_commit(lambda: storage.delete(path))
