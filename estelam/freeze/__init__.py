"""freeze."""
