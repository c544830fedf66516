"""Redis: the shared rate counters and the guard's store."""
