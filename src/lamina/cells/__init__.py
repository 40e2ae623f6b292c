"""Cells: everything of one (account, region), as AWS partitions its own (docs/architecture.md, "Cells")."""
