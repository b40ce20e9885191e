"""Auth domain: API keys, roles and contract-name globs."""
