"""ci-tags: manage container image tags from CI pipelines."""

__version__ = "0.1.0"
