"""ORM tables, one module per domain."""
