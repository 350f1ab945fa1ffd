"""ci-tags: manage container image tags from CI pipelines."""

__version__ = "0.2.0"
