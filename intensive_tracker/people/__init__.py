"""People and places: identity keys, the district registry, manual joins and splits, and shared vocabulary."""
