"""Delivery adapters: the providers that carry a code, and the courier that picks them."""
