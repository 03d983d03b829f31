"""SQL-side assets (catalog DDL, statement reference), installed as the package sqlml._assets."""
