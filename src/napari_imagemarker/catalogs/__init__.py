"""Catalogs: reading any table, finding its coordinates, placing its rows on an image."""
