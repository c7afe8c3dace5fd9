"""Adapters that hand one rendered alert to one responder channel."""
