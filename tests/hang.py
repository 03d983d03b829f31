"""Timeouts in tests stop hangs; they never measure speed.

A subprocess that normally finishes in seconds gets this long, so a loaded two-core machine (the
Spark tests and a DuckDB training at once) can never make it fail; only a real hang can.
"""

HANG = 900.0  # seconds
