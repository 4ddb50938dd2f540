"""Indexing a function app: the v2 model (`function_app.py`) and the v1 model (`function.json` folders)."""
