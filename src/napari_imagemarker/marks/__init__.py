"""The marks table (one schema) and one small module per file format behind one registry."""
