"""Decode and segment media files; nothing here knows about encoders or stores.

``probe`` names a file's modality from its bytes, ``walk`` finds the files, and one module
per modality turns a file into :class:`~sensorium.types.Segment` objects.
"""
