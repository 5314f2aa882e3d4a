"""Explainers: pure functions of (agent, observations) -> arrays (DESIGN.md §2)."""
