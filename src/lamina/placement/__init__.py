"""Execution environments placed across a Ray cluster's nodes (LAMINA_RAY_ADDRESS; docs/architecture.md, "Placement")."""
