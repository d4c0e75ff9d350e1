"""Reusable ComponentResources: one per file, type tokens `deepseek:<module>:<Type>`."""
