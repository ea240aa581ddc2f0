"""Vector store backends behind one narrow interface (``base.Store``)."""
