"""The reference schemas, described once for both dialects (see ../generate.py)."""
