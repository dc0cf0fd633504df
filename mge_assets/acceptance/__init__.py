"""Acceptance tests generated from the requirements, and their results per requirement."""
