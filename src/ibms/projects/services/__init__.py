"""Project library writers: enter and edit projects with their parts, submit, review (approve / 退回 with a
reason) along the configurable chain, rank within a department, generate the computed basic projects,
import from Excel, attachments, and the status moves budgeting uses. Every function is its own durable
transaction unless it is marked `@in_callers_transaction`."""

from ..selectors import RANKABLE
from .attachments import ATTACHMENT_TYPES, DEFAULT_ATTACHMENT_MAX_BYTES, attachment_add, attachment_remove
from .basic import DEFAULT_BASIC_FUND_NATURE, basic_costs_estimate, project_generate_basic
from .entry import CHILD_MODELS, project_create, project_update, projects_import
from .library import project_rank, projects_enter_budget, projects_start_execution
from .review import project_close, project_review, project_submit

__all__ = [
    "ATTACHMENT_TYPES", "CHILD_MODELS", "DEFAULT_ATTACHMENT_MAX_BYTES", "DEFAULT_BASIC_FUND_NATURE", "RANKABLE",
    "attachment_add", "attachment_remove", "basic_costs_estimate", "project_close", "project_create",
    "project_generate_basic", "project_rank", "project_review", "project_submit", "project_update",
    "projects_enter_budget", "projects_import", "projects_start_execution",
]
