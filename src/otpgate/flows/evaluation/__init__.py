"""Evaluation workflows: data files that say which channels to use, what to ask after the
OTP, and which rules decide. ``evaluation`` runs an evaluation through them."""
