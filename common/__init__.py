"""tfedge: image classifiers from a folder of photos to a live camera on a small device."""

__version__ = "0.1.0"
