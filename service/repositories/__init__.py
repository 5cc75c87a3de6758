"""All database queries, one module per domain. Repositories flush, never commit."""
