"""Copies of one story made one: fingerprints, containment, and each new story's cluster."""
