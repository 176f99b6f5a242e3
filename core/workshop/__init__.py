"""Workshop mode: an instructor's room on one shared Space (fair queue, budgets, the settings they are set by)."""
