"""The pure core: bytes, arrays, images and models in and out; no I/O, clock, network or env."""
