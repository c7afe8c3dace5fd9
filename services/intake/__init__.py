"""Intake: takes complaints in over HTTP and ``ingress.complaints`` and publishes them."""
