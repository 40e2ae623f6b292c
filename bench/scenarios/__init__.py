"""The scenarios, one per module: each has a frozen result type and an async ``run``."""
