"""The `tfedge train` and `tfedge data` commands."""
