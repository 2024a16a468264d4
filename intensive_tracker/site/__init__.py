"""The methodist's report folder: pages, charts, XLSX/CSV exports and the quality page."""
