"""The ``rnnkit`` command line: one entry point, one small module per subcommand.

Each subcommand module exposes ``register(subparsers)`` which adds its parser and sets
``func`` to a function ``(args) -> int``. Commands parse arguments and call library
functions; they hold no logic of their own.
"""
