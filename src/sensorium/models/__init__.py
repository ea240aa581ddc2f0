"""Encoders: segments in, vectors and facts out. One file per backend; ``registry`` picks them."""
