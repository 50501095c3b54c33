"""A user's data scope, from their organisation: region subtree, unit subtree, read-only upper view."""

from __future__ import annotations

from ibms.core.scoping import FULL_SCOPE, NO_SCOPE, DataScope
from ibms.masterdata.models import Region


def _subtree_codes(paths: list[str]) -> set[str]:
    codes: set[str] = set()
    for path in paths:
        codes |= set(Region.objects.filter(path__startswith=path).values_list("code", flat=True))
    return codes


def compute_scope(user) -> DataScope:
    if not user.is_active:
        return NO_SCOPE
    if user.is_superuser and user.organization_id is None:
        return FULL_SCOPE
    org = user.organization
    if org is None:
        return NO_SCOPE
    region = Region.objects.filter(code=org.region_code).first()
    if region is None:
        return NO_SCOPE
    grants = list(user.scope_grants.values_list("region__path", flat=True))
    ancestors = set(region.chain_codes)
    kind = type(org).Kind  # the model owns its kinds; importing it here would close a cycle (models → scopes)
    if org.kind in (kind.DEPARTMENT, kind.UNIT):
        # Unit staff see their own unit subtree in their own region only.
        return DataScope(view_regions=frozenset({region.code}), change_regions=frozenset({region.code}),
                         reference_regions=frozenset(ancestors), unit_path=org.unit.path)
    view = _subtree_codes([region.path, *grants])
    change: frozenset[str] = frozenset()
    # Finance divisions and the administrators write in their own region only; upper levels read lower ones;
    # oversight bodies only read. (Permissions decide *what* a role may write, scope decides *where*.)
    if org.kind in (kind.FINANCE, kind.ADMIN):
        change = frozenset({region.code})
    return DataScope(view_regions=frozenset(view), change_regions=change, reference_regions=frozenset(ancestors))
