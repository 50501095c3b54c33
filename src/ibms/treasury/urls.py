from django.urls import path

from . import views, views_review

app_name = "treasury"
urlpatterns = [
    path("", views.request_list, name="requests"),
    path("new/", views.request_new, name="request-new"),
    path("batch/", views.batch_new, name="batch-new"),
    path("indicators/", views.indicator_picker, name="indicator-picker"),
    path("requests/<int:pk>/", views.request_detail, name="request-detail"),
    path("requests/<int:pk>/edit/", views.request_edit, name="request-edit"),
    path("review/", views.review_queue, name="review"),
    path("review/batch/", views_review.review_batch, name="review-batch"),
    path("vouchers/", views.voucher_list, name="vouchers"),
    path("vouchers/<int:pk>/", views.voucher_detail, name="voucher-detail"),
    path("contracts/", views.contract_list, name="contracts"),
    path("contracts/<int:pk>/close/", views.contract_close, name="contract-close"),
    path("contracts/<int:pk>/review/", views.contract_review, name="contract-review"),
    path("allocations/", views.allocation_list, name="allocations"),
    path("reconciliation/", views.recon_list, name="reconciliation"),
    path("reconciliation/<int:pk>/", views.recon_detail, name="recon-detail"),
    path("differences/<int:pk>/resolve/", views.difference_resolve, name="difference-resolve"),
]
