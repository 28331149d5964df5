"""The pure-Python shape model: constructor rules, forward shapes, symbolic sizes. Never imports torch."""
