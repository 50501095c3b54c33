"""Attachments: stored under MEDIA_ROOT, type checked by extension and content, size limited, scoped download,
only while the project is a draft."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ibms.core.errors import Conflict, ValidationFailed
from ibms.projects.models import Attachment
from ibms.projects.services import attachment_add, attachment_remove, project_create, project_submit

from .helpers import project_data

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_upload_download_and_remove(user, client_as, media, django_capture_on_commit_callbacks):
    p = project_create(actor=user("school_clerk"), data=project_data())
    r = client_as("school_clerk").post(f"/projects/{p.pk}/attachments/",
                                       {"file": SimpleUploadedFile("培训方案.pdf", PDF, "application/pdf")})
    assert r.status_code == 302
    att = Attachment.objects.get(project=p)
    assert (att.name, att.size) == ("培训方案.pdf", len(PDF))
    assert (media / att.file.name).read_bytes() == PDF
    r = client_as("edu_reviewer").get(f"/projects/attachments/{att.pk}/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == PDF
    assert client_as("hospital_clerk").get(f"/projects/attachments/{att.pk}/").status_code == 404
    path = media / att.file.name
    with django_capture_on_commit_callbacks(execute=True):
        attachment_remove(actor=user("school_clerk"), attachment_id=att.pk)
    assert not Attachment.objects.filter(pk=att.pk).exists()
    assert not path.exists()


@pytest.mark.parametrize("name,content,code", [
    ("setup.exe", b"MZ\x90\x00", "attachment_type"),
    ("fake.pdf", b"MZ\x90\x00not a pdf", "attachment_content"),
    ("empty.pdf", b"", "attachment_empty"),
])
def test_bad_files_are_refused(user, name, content, code):
    p = project_create(actor=user("school_clerk"), data=project_data())
    with pytest.raises(ValidationFailed) as exc:
        attachment_add(actor=user("school_clerk"), project_id=p.pk, upload=SimpleUploadedFile(name, content))
    assert exc.value.violations[0].code == code
    assert not Attachment.objects.filter(project=p).exists()


def test_size_limit(user, settings):
    settings.IBMS_ATTACHMENT_MAX_BYTES = 1024
    p = project_create(actor=user("school_clerk"), data=project_data())
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * 2048)
    with pytest.raises(ValidationFailed) as exc:
        attachment_add(actor=user("school_clerk"), project_id=p.pk, upload=big)
    assert exc.value.violations[0].code == "attachment_too_large"


def test_no_attachment_after_submission(user):
    clerk = user("school_clerk")
    p = project_create(actor=clerk, data=project_data())
    project_submit(actor=clerk, pk=p.pk)
    with pytest.raises(Conflict):
        attachment_add(actor=clerk, project_id=p.pk, upload=SimpleUploadedFile("a.pdf", PDF))
