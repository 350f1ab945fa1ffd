"""The CI system a command runs in: its environment (a mapping passed in) and its API status checks."""
