"""Activities called as plain functions."""
