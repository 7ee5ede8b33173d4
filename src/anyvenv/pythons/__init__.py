"""Managed CPython builds (python-build-standalone): find a download, fetch and verify it,
extract it by what the target filesystem allows, make it usable where it lies, and list,
find or remove what is installed."""
