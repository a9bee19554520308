"""A deterministic demo world for ``manage.py seed_demo`` (demo and benchmark data only)."""
