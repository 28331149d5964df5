"""All Rich output. Nothing outside this package imports rich."""
