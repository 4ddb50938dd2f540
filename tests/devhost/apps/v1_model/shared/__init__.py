"""Code shared by the functions of the v1 sample app (a folder without function.json)."""
