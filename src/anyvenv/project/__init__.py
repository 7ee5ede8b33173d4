"""uv projects on any filesystem: find the project, choose and make its environment, drive
``uv sync`` into it (directly, or through a shadow env on local disk where modes are broken)."""
