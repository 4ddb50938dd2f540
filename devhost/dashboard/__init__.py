"""devhost's dashboard: instances, their histories, task timelines and custom-status timelines, in the
browser. Served by devhost only (never part of a deployed app), from files shipped in this package."""
