"""Routing: decides who must act on each complaint, and follows it until it closes."""
