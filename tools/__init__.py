"""Command-line helpers behind the Makefile (not part of the bmlib library)."""
