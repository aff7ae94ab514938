"""Conformance against Karmada's own test data: interpreter test files and transcribed vectors."""
