"""Orchestrator functions, one blueprint per module, plus the helpers they share."""
