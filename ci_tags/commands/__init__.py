"""One module per subcommand: ``register(subparsers, parents)`` and ``run(ctx) -> int``."""
