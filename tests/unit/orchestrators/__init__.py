"""Orchestrators replayed through the SDK from built histories."""
