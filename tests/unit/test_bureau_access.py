"""Which role a bureau's member acts with in a client company (pure: ``acting_role``)."""

from __future__ import annotations

import pytest

from saas.tenants.bureau_access import acting_role
from saas.tenants.models import BureauMode, Role

OPERATED, SELF_SERVICE = BureauMode.OPERATED, BureauMode.SELF_SERVICE


@pytest.mark.parametrize(
    ("bureau_role", "mode", "assigned", "acts_as"),
    [
        # Owners and admins serve every client, as admins: the company's ownership stays its own.
        (Role.OWNER, OPERATED, False, Role.ADMIN),
        (Role.ADMIN, OPERATED, False, Role.ADMIN),
        (Role.ADMIN, OPERATED, True, Role.ADMIN),
        # Everyone else serves the clients assigned to them, with their role in the bureau.
        (Role.ACCOUNTANT, OPERATED, True, Role.ACCOUNTANT),
        (Role.STAFF, OPERATED, True, Role.STAFF),
        (Role.COLLECTOR, OPERATED, True, Role.COLLECTOR),
        (Role.VIEWER, OPERATED, True, Role.VIEWER),
        (Role.STAFF, OPERATED, False, None),
        (Role.ACCOUNTANT, OPERATED, False, None),
        (Role.VIEWER, SELF_SERVICE, False, None),
        # A self-service company invoices itself: the bureau looks on to support it.
        (Role.OWNER, SELF_SERVICE, False, Role.VIEWER),
        (Role.ACCOUNTANT, SELF_SERVICE, True, Role.VIEWER),
    ],
)
def test_the_role_a_bureau_member_acts_with(bureau_role, mode, assigned, acts_as):
    assert acting_role(bureau_role, mode, assigned) is acts_as
