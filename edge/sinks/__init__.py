"""Where results go: each sink has `emit(result)` and `close(summary)`; all are optional."""
