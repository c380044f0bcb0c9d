"""Representation dynamics vs trained nets: :mod:`train`."""
