"""The `tfedge run`, `verify`, `inspect`, `bench` and `service` commands: argparse in, one `run(args)`."""
