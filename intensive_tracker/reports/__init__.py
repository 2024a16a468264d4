"""What the records say: figures, summary.json, rosters and data quality, as plain data."""
