"""Gongzhi's four services: intake, routing, notify and stats."""
