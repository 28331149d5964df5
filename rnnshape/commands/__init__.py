"""One module per command: each wires its arguments to library calls and renders the result."""
