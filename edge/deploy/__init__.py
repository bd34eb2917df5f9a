"""`tfedge deploy`: a model to a device over the system's OpenSSH client, checked there first."""
