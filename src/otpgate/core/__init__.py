"""The otpgate domain: verification sessions, codes, policies and limits.

Pure Python: this package imports the standard library only. Clocks, stores,
limiters and couriers are handed in through the small protocols in ``ports``.
"""
