"""The live pipeline: frame sources, the capture thread, the inference loop, the result stage,
smoothing, the boot service."""
