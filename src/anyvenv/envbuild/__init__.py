"""Virtual environment layout and creation: a client of the probe and the fs primitives."""
