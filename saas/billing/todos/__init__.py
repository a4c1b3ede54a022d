"""In-app to-dos for the tenant's users: what needs a person (unpaid after the last reminder)."""
