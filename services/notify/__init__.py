"""Notify: alerts the responders named by routing over their own channels, exactly once."""
