from django.contrib import admin

from .models import ApprovalChain, ApprovalStep


class ApprovalStepInline(admin.TabularInline):
    model = ApprovalStep
    extra = 1


@admin.register(ApprovalChain)
class ApprovalChainAdmin(admin.ModelAdmin):
    """Approval chains are data: the system administrator configures them per document type and region."""

    list_display = ["doc_type", "region_code", "name", "is_active"]
    list_filter = ["doc_type", "is_active"]
    inlines = [ApprovalStepInline]
