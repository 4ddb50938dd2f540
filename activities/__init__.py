"""Activity functions, one blueprint per module."""
