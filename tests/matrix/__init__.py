"""The interoperability matrix: the whole stack under every server and framework (issue 16)."""
