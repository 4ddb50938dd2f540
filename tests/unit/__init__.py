"""Unit tests: the app's functions without a host."""
