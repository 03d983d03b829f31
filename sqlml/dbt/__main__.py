"""``python -m sqlml.dbt`` prints the dbt package folder, for ``packages.yml``'s ``local:`` entry."""

from sqlml.dbt import package_path

print(package_path())
