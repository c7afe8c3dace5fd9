"""Routing: decides who must act on each complaint, and follows it until it closes."""

from services.routing.app import main

main()
