"""The /api/v1/ surface: OpenAPI docs, session and token auth, every registered resource."""

from ninja.security import django_auth

from ibms.core.api import add_resource_routers, install_error_handlers, install_write_gate
from ibms.core.openapi import DocumentedAPI
from ibms.iam.auth import TokenAuth

api = DocumentedAPI(title="预算管理一体化系统 API", version="1", urls_namespace="api-v1",
                    auth=[TokenAuth(), django_auth],
                    description="财政部门与预算单位业务接口。金额以字符串表示的元（两位小数）传输；错误统一为 "
                                '{"code","message","detail"}。')
install_error_handlers(api)


@api.get("/me", summary="当前用户", tags=["用户"])
def me(request):
    u = request.auth
    return {"id": u.pk, "username": u.username, "name": str(u), "region_code": u.region_code,
            "organization": u.organization.name if u.organization_id else "", "roles": sorted(u.role_codes)}


api.add_router("/iam", "ibms.iam.api.router")
api.add_router("/audit", "ibms.core.audit_api.router")
api.add_router("/projects", "ibms.projects.api.router")
api.add_router("/budgeting", "ibms.budgeting.api.router")
api.add_router("/budgeting/reports", "ibms.budgeting.report_api.router")
api.add_router("/indicators", "ibms.indicators.api.router")
api.add_router("/accounting", "ibms.accounting.api.router")
api.add_router("/accounting/reports", "ibms.accounting.report_api.router")
api.add_router("/monitoring", "ibms.monitoring.api.router")
api.add_router("/banks", "ibms.banks.api.router")
api.add_router("/treasury", "ibms.treasury.api.router")
api.add_router("/procurement", "ibms.procurement.api.router")
api.add_router("/closing", "ibms.closing.api.router")
api.add_router("/assets", "ibms.assets.api.router")
api.add_router("/payroll", "ibms.payroll.api.router")
api.add_router("/unitfunds", "ibms.unitfunds.api.router")
add_resource_routers(api)
install_write_gate(api)  # every write operation: the permission of data/policy/routes/, before its payload
