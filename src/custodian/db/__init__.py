"""Storage of the inventory, keys, grants and the access log (SQLModel over SQLite/PostgreSQL)."""
