from django.contrib import admin
from django.urls import include, path

from ibms.core.views import resource_urls
from ibms.web.api import api
from ibms.web.views import home

urlpatterns = [
    path("", home, name="home"),
    path("", include("ibms.iam.urls")),
    path("masterdata/", include("ibms.masterdata.urls")),
    path("audit/", include("ibms.core.urls")),
    path("projects/", include("ibms.projects.urls")),
    path("budgeting/", include("ibms.budgeting.urls")),
    path("indicators/", include("ibms.indicators.urls")),
    path("accounting/", include("ibms.accounting.urls")),
    path("monitoring/", include("ibms.monitoring.urls")),
    path("banks/", include("ibms.banks.urls")),
    path("treasury/", include("ibms.treasury.urls")),
    path("procurement/", include("ibms.procurement.urls")),
    path("closing/", include("ibms.closing.urls")),
    path("assets/", include("ibms.assets.urls")),
    path("payroll/", include("ibms.payroll.urls")),
    path("unitfunds/", include("ibms.unitfunds.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    *resource_urls(),
]

handler400 = "ibms.core.views.bad_request"  # the error pages: JSON under /api/, the Chinese error page elsewhere
handler403 = "ibms.core.views.permission_denied"
handler404 = "ibms.core.views.not_found"
