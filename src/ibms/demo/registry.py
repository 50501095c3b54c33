"""The apps' own set-up and generation hooks, found through Django's app registry so that adding an app needs no
edit here: `<app>/setup.py::setup_app(years)` and `<app>/gen.py::GEN_STAGES`, in INSTALLED_APPS order (which is
the layer order, lower apps first)."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from django.apps import apps


def app_modules(name: str) -> list[ModuleType]:
    """The module `<app>.<name>` of every installed ibms app that has one (third-party apps are not searched)."""
    out = []
    for config in apps.get_app_configs():
        if not config.name.startswith("ibms."):
            continue
        dotted = f"{config.name}.{name}"
        if importlib.util.find_spec(dotted) is not None:
            out.append(importlib.import_module(dotted))
    return out
