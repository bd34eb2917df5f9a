"""The live pipeline: frame sources, the capture thread, the inference loop, smoothing, the boot service."""
