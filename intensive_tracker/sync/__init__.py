"""The sync engine: connector batches written idempotently, one transaction per batch."""
