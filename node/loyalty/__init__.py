"""Loyalty on her terms (spec/loyalty.md): the service and its local API."""
