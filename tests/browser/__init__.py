"""The progress page in headless Chromium against devhost."""
