"""Attribute values, key encoding, item size and error types: the vocabulary every layer shares."""
