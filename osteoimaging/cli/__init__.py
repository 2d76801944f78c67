"""The ``osteo`` command line. Each sub-module with a ``register(subparsers)`` adds commands."""
