"""Contracts domain: the registry of versioned data contracts."""
