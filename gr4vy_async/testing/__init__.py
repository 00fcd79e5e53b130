"""Test helpers for code that uses gr4vy_async."""
