"""The model types: one registry entry each (:mod:`.registry`), their options (:mod:`.options`),
and their makers per engine (:mod:`.sklearn`, :mod:`.mllib`). Nothing heavy is imported here."""
