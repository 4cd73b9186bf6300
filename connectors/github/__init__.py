"""GitHub change correlation: production deployments, merged changes, code owners, releases."""

from connectors.github.config import GitHubSettings
from connectors.github.connector import GitHubConnector

__all__ = ["GitHubConnector", "GitHubSettings"]
