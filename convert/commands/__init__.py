"""The `tfedge convert` command."""
