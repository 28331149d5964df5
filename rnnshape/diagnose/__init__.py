"""`diagnose`: reading a pasted snippet and following its shapes statically."""
