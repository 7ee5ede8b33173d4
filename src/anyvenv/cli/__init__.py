"""The command line: parse arguments, call a command, print text or JSON, map errors to exit codes.

Each command lives in its own module here exposing ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their command runs.
"""
