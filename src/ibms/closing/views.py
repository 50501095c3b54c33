"""Pages of the year end (thin: selectors and services do the work)."""

from __future__ import annotations

from django.shortcuts import render


def year_list(request):
    return render(request, "closing/years.html", {})
