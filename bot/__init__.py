"""PR Coach: a Slack bot that walks non-developers through their first GitHub pull request."""

__version__ = "0.1.0"
