"""The .tflite file itself: a pure-Python flatbuffer reader, load checks, Edge TPU readiness, inspect."""
