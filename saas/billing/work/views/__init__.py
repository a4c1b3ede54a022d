"""The work pages: projects and tasks, my time and the stopwatch, rules, the items inbox."""

from __future__ import annotations

from saas.billing.work.rules import format_minutes
from saas.tenants.access import MANAGERS, staff_blueprint
from saas.tenants.models import Role

bp = staff_blueprint("work", __name__, "/work")

# Who records time and runs projects; who sets the billing rules; who bills.
WORKERS = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}
RULE_KEEPERS = MANAGERS | {Role.ACCOUNTANT}
BILLERS = MANAGERS | {Role.ACCOUNTANT, Role.STAFF}


def clock_label(seconds: int) -> str:
    """ "1:02:05" for what a stopwatch measured."""
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


bp.add_app_template_global(format_minutes, "minutes_label")
bp.add_app_template_global(clock_label, "clock_label")

from saas.billing.work.views import inbox, projects, rules, team, time  # noqa: E402, F401
