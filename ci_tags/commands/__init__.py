"""One module per subcommand: ``register(parser)`` adds its arguments, ``run(ctx) -> int`` does the work."""
