"""Optional integrations, each behind its own extra; ``import gr4vy_async`` imports none of them."""

__all__: list[str] = []
