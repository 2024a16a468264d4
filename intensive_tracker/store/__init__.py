"""The database: engine and transactions, the change-aware upsert, models, migrations and named locks."""
