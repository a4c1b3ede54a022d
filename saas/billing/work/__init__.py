"""Work that becomes billable (R5): projects, tasks, time, rules and billable items."""
