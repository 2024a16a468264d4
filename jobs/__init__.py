"""Scheduled jobs of the nightly daemon: plain importable functions the scheduler calls."""
