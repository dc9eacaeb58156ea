"""Builders turn the raw published data into the product's HDF5 tables."""
