"""Jinja2 templates of the report site and the district emails (shipped as package data)."""
