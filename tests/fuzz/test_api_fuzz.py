"""Schemathesis over the whole OpenAPI document, in process, as a unit clerk and as a treasury user: no answer is
a 5xx, and every answer has a documented status code, content type and shape. Deterministic (derandomized
Hypothesis, no example database) and bounded (a few examples per operation)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ibms.iam.models import ApiToken
from ibms.iam.tokens import digest, issue_token_value

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())

EXAMPLES = int(os.environ.get("IBMS_FUZZ_EXAMPLES", 4))  # per operation; raise it for a longer hunt


@pytest.fixture(params=["school_clerk", "county_treasury"])
def bearer(request, user) -> dict:
    prefix, raw = issue_token_value()
    ApiToken.objects.create(user=user(request.param), name="fuzz", prefix=prefix, digest=digest(raw))
    return {"Authorization": f"Bearer {raw}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_error(case, bearer, wsgi_keeps_test_connection):
    case.call_and_validate(headers=bearer, checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                                   response_schema_conformance])
