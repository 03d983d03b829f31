"""The emulated ``pg_catalog``: the tables, views and functions PostgreSQL clients query that DuckDB
lacks, created in an in-memory database attached to the server's connection."""

from __future__ import annotations

PG_VERSION = "15.0"
PG_VERSION_NUM = "150000"

EMULATION = "__sqlml_pg"  # an in-memory database attached to the server's connection
HOME = f"{EMULATION}.main"
PG_CATALOG_OID = 11

_EMPTY_TABLES = {
    "pg_inherits": "inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN",
    "pg_policy": "oid BIGINT, polname VARCHAR, polrelid BIGINT, polcmd VARCHAR, "
    "polpermissive BOOLEAN, polroles BIGINT[], polqual VARCHAR, polwithcheck VARCHAR",
    "pg_statistic_ext": "oid BIGINT, stxrelid BIGINT, stxname VARCHAR, stxnamespace BIGINT, "
    "stxowner BIGINT, stxstattarget INTEGER, stxkeys INTEGER[], stxkind VARCHAR[], "
    "stxexprs VARCHAR",
    "pg_publication": "oid BIGINT, pubname VARCHAR, pubowner BIGINT, puballtables BOOLEAN, "
    "pubinsert BOOLEAN, pubupdate BOOLEAN, pubdelete BOOLEAN, pubtruncate BOOLEAN, "
    "pubviaroot BOOLEAN",
    "pg_publication_rel": "oid BIGINT, prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, "
    "prattrs INTEGER[]",
    "pg_publication_namespace": "oid BIGINT, pnpubid BIGINT, pnnspid BIGINT",
    "pg_trigger": "oid BIGINT, tgrelid BIGINT, tgparentid BIGINT, tgname VARCHAR, tgfoid BIGINT, "
    "tgtype INTEGER, tgenabled VARCHAR, tgisinternal BOOLEAN, tgconstrrelid BIGINT, "
    "tgconstrindid BIGINT, tgconstraint BIGINT, tgdeferrable BOOLEAN, tginitdeferred BOOLEAN, "
    "tgnargs INTEGER, tgattr INTEGER[], tgargs BLOB, tgqual VARCHAR, tgoldtable VARCHAR, "
    "tgnewtable VARCHAR",
    "pg_rewrite": "oid BIGINT, rulename VARCHAR, ev_class BIGINT, ev_type VARCHAR, "
    "ev_enabled VARCHAR, is_instead BOOLEAN, ev_qual VARCHAR, ev_action VARCHAR",
    "pg_foreign_table": "ftrelid BIGINT, ftserver BIGINT, ftoptions VARCHAR[]",
    "pg_foreign_server": "oid BIGINT, srvname VARCHAR, srvowner BIGINT, srvfdw BIGINT, "
    "srvtype VARCHAR, srvversion VARCHAR, srvacl VARCHAR[], srvoptions VARCHAR[]",
    "pg_foreign_data_wrapper": "oid BIGINT, fdwname VARCHAR, fdwowner BIGINT, fdwhandler BIGINT, "
    "fdwvalidator BIGINT, fdwacl VARCHAR[], fdwoptions VARCHAR[]",
    "pg_partitioned_table": "partrelid BIGINT, partstrat VARCHAR, partnatts INTEGER, "
    "partdefid BIGINT, partattrs INTEGER[], partclass BIGINT[], partcollation BIGINT[], "
    "partexprs VARCHAR",
    "pg_auth_members": "oid BIGINT, roleid BIGINT, member BIGINT, grantor BIGINT, "
    "admin_option BOOLEAN",
    "pg_event_trigger": "oid BIGINT, evtname VARCHAR, evtevent VARCHAR, evtowner BIGINT, "
    "evtfoid BIGINT, evtenabled VARCHAR, evttags VARCHAR[]",
    "pg_extension": "oid BIGINT, extname VARCHAR, extowner BIGINT, extnamespace BIGINT, "
    "extrelocatable BOOLEAN, extversion VARCHAR, extconfig BIGINT[], extcondition VARCHAR[]",
    "pg_range": "rngtypid BIGINT, rngsubtype BIGINT, rngmultitypid BIGINT, "
    "rngcollation BIGINT, rngsubopc BIGINT, rngcanonical VARCHAR, rngsubdiff VARCHAR",
    "pg_language": "oid BIGINT, lanname VARCHAR, lanowner BIGINT, lanispl BOOLEAN, "
    "lanpltrusted BOOLEAN, lanplcallfoid BIGINT, laninline BIGINT, lanvalidator BIGINT, "
    "lanacl VARCHAR[]",
    "pg_opclass": "oid BIGINT, opcmethod BIGINT, opcname VARCHAR, opcnamespace BIGINT, "
    "opcowner BIGINT, opcfamily BIGINT, opcintype BIGINT, opcdefault BOOLEAN, opckeytype BIGINT",
    "pg_shdescription": "objoid BIGINT, classoid BIGINT, description VARCHAR",
    "pg_default_acl": "oid BIGINT, defaclrole BIGINT, defaclnamespace BIGINT, "
    "defaclobjtype VARCHAR, defaclacl VARCHAR[]",
    "pg_cast": "oid BIGINT, castsource BIGINT, casttarget BIGINT, castfunc BIGINT, "
    "castcontext VARCHAR, castmethod VARCHAR",
    "pg_conversion": "oid BIGINT, conname VARCHAR, connamespace BIGINT, conowner BIGINT, "
    "conforencoding INTEGER, contoencoding INTEGER, conproc VARCHAR, condefault BOOLEAN",
    "pg_operator": "oid BIGINT, oprname VARCHAR, oprnamespace BIGINT, oprowner BIGINT, "
    "oprkind VARCHAR, oprcanmerge BOOLEAN, oprcanhash BOOLEAN, oprleft BIGINT, oprright BIGINT, "
    "oprresult BIGINT, oprcom BIGINT, oprnegate BIGINT, oprcode VARCHAR, oprrest VARCHAR, "
    "oprjoin VARCHAR",
    "pg_stat_activity": "datid BIGINT, datname VARCHAR, pid INTEGER, usesysid BIGINT, "
    "usename VARCHAR, application_name VARCHAR, client_addr VARCHAR, client_port INTEGER, "
    "backend_start TIMESTAMPTZ, xact_start TIMESTAMPTZ, query_start TIMESTAMPTZ, "
    "state_change TIMESTAMPTZ, wait_event_type VARCHAR, wait_event VARCHAR, state VARCHAR, "
    "backend_xid BIGINT, backend_xmin BIGINT, query VARCHAR, backend_type VARCHAR",
    "pg_matviews": "schemaname VARCHAR, matviewname VARCHAR, matviewowner VARCHAR, "
    "tablespace VARCHAR, hasindexes BOOLEAN, ispopulated BOOLEAN, definition VARCHAR",
}

_ROLE_COLUMNS = (
    "10::BIGINT AS oid, 'sqlml' AS rolname, true AS rolsuper, true AS rolinherit, "
    "true AS rolcreaterole, true AS rolcreatedb, true AS rolcanlogin, false AS rolreplication, "
    "-1 AS rolconnlimit, '********' AS rolpassword, NULL::TIMESTAMPTZ AS rolvaliduntil, "
    "false AS rolbypassrls, NULL::VARCHAR[] AS rolconfig"
)

_VIEWS = {
    "pg_roles": f"SELECT {_ROLE_COLUMNS}",
    "pg_authid": f"SELECT {_ROLE_COLUMNS}",
    "pg_user": "SELECT 'sqlml' AS usename, 10::BIGINT AS usesysid, true AS usecreatedb, "
    "true AS usesuper, false AS userepl, false AS usebypassrls, '********' AS passwd, "
    "NULL::TIMESTAMPTZ AS valuntil, NULL::VARCHAR[] AS useconfig",
    "pg_class": "SELECT * REPLACE ('d' AS relreplident, NULL::BIGINT AS relminmxid, "
    "NULL::VARCHAR[] AS relacl, NULL::VARCHAR[] AS reloptions, NULL::VARCHAR AS relpartbound), "
    "false AS relforcerowsecurity FROM pg_catalog.pg_class",
    "pg_database": "SELECT d.oid, d.datname, 10::BIGINT AS datdba, 6 AS encoding, "
    "'c' AS datlocprovider, d.datistemplate, d.datallowconn, -1 AS datconnlimit, "
    "0::BIGINT AS datfrozenxid, 0::BIGINT AS datminmxid, 0::BIGINT AS dattablespace, "
    "'C' AS datcollate, 'C' AS datctype, NULL::VARCHAR AS daticulocale, "
    "NULL::VARCHAR AS datcollversion, NULL::VARCHAR[] AS datacl "
    "FROM pg_catalog.pg_database d WHERE d.datname NOT IN ('system', 'temp')",
}

# Keys: DuckDB lists PRIMARY KEY and UNIQUE constraints in duckdb_constraints() but not in
# pg_index / pg_class, and its pg_constraint has 0-based keys and no referenced table; JDBC's
# getPrimaryKeys / getImportedKeys / getIndexInfo join those. Each key gets an index oid of its own.
_KEY_OID = "(k.table_oid * 1000000 + 500000 + k.constraint_index)"
_KEYS = "duckdb_constraints() k WHERE k.constraint_type IN ('PRIMARY KEY', 'UNIQUE')"
_ATTNUMS = "list_transform(k.constraint_column_indexes, lambda x: (x + 1)::INTEGER)"
_REFERENCED = (
    "duckdb_constraints() r WHERE r.database_name = k.database_name AND r.schema_name = "
    "k.schema_name AND r.table_name = k.referenced_table AND r.constraint_type IN ('PRIMARY KEY', "
    "'UNIQUE') AND r.constraint_column_names = k.referenced_column_names"
)
_INDEX_NAMES = (
    "(SELECT index_oid, list_transform(string_split(trim(expressions, '[]'), ', '), "
    "lambda e: trim(e, '''\"')) AS names FROM duckdb_indexes())"
)
_KEY_VIEWS = {
    "pg_index": "SELECT p.* REPLACE (coalesce((SELECT list(c.column_index::INTEGER ORDER BY "
    "list_position(d.names, c.column_name)) FROM duckdb_columns() c WHERE c.table_oid = "
    "p.indrelid AND list_contains(d.names, c.column_name)), []) AS indkey) "
    f"FROM pg_catalog.pg_index p JOIN {_INDEX_NAMES} d ON d.index_oid = p.indexrelid "
    "UNION ALL BY NAME "
    f"SELECT {_KEY_OID} AS indexrelid, k.table_oid AS indrelid, "
    "len(k.constraint_column_indexes) AS indnatts, len(k.constraint_column_indexes) AS "
    "indnkeyatts, true AS indisunique, k.constraint_type = 'PRIMARY KEY' AS indisprimary, "
    "false AS indisexclusion, true AS indimmediate, false AS indisclustered, true AS indisvalid, "
    "false AS indcheckxmin, true AS indisready, true AS indislive, false AS indisreplident, "
    f"{_ATTNUMS} AS indkey, NULL AS indexprs, NULL AS indpred FROM {_KEYS}",
    "pg_constraint": "SELECT k.table_oid * 1000000 + k.constraint_index AS oid, "
    "k.constraint_name AS conname, k.schema_oid AS connamespace, CASE k.constraint_type "
    "WHEN 'CHECK' THEN 'c' WHEN 'UNIQUE' THEN 'u' WHEN 'PRIMARY KEY' THEN 'p' "
    "WHEN 'FOREIGN KEY' THEN 'f' ELSE 'x' END AS contype, false AS condeferrable, "
    "false AS condeferred, true AS convalidated, k.table_oid AS conrelid, 0 AS contypid, "
    f"CASE WHEN k.constraint_type IN ('PRIMARY KEY', 'UNIQUE') THEN {_KEY_OID} "
    "WHEN k.constraint_type = 'FOREIGN KEY' THEN (SELECT r.table_oid * 1000000 + 500000 + "
    f"r.constraint_index FROM {_REFERENCED} LIMIT 1) ELSE 0 END AS conindid, 0 AS conparentid, "
    "CASE WHEN k.constraint_type = 'FOREIGN KEY' THEN (SELECT t.table_oid FROM duckdb_tables() t "
    "WHERE t.database_name = k.database_name AND t.schema_name = k.schema_name AND "
    "t.table_name = k.referenced_table) ELSE 0 END AS confrelid, "
    "CASE WHEN k.constraint_type = 'FOREIGN KEY' THEN 'a' END AS confupdtype, "
    "CASE WHEN k.constraint_type = 'FOREIGN KEY' THEN 'a' END AS confdeltype, "
    "CASE WHEN k.constraint_type = 'FOREIGN KEY' THEN 's' END AS confmatchtype, "
    "true AS conislocal, 0 AS coninhcount, false AS connoinherit, "
    f"{_ATTNUMS} AS conkey, CASE WHEN k.constraint_type = 'FOREIGN KEY' THEN (SELECT "
    "list(c.column_index::INTEGER ORDER BY list_position(k.referenced_column_names, "
    "c.column_name)) FROM duckdb_columns() c WHERE c.database_name = k.database_name AND "
    "c.schema_name = k.schema_name AND c.table_name = k.referenced_table AND "
    "list_contains(k.referenced_column_names, c.column_name)) END AS confkey, "
    "k.expression AS conbin FROM duckdb_constraints() k WHERE k.constraint_type <> 'NOT NULL'",
}

# Functions: DuckDB keeps Python UDFs (sqlml's model functions: Redshift's FUNCTION) with the
# built-ins, in a schema pg_namespace does not list (told apart by their col0, col1, ... parameters
# and no description); here they are in the user's "main" (psql's \df, JDBC's getFunctions), as a
# user's macros are, with PostgreSQL's type oids and names for their arguments and result
# (proargtypes as oidvector's text: oids separated by spaces; no proargnames, which JDBC reads as
# a text[] and the server sends lists as JSON — psql's \df names them from
# pg_get_function_arguments).
_USER_FUNCTION = (
    "((f.database_name = 'system' AND f.extension_name IS NULL AND "
    "f.description IS NULL AND f.function_type = 'scalar' AND len(f.parameters) > 0 AND "
    "list_bool_and(list_transform(f.parameters, lambda p: regexp_full_match(p, 'col[0-9]+')))))"
)
_MAIN_SCHEMA = (
    "(SELECT s.oid FROM duckdb_schemas() s WHERE s.database_name = current_database() AND "
    "s.schema_name = 'main')"
)
_PG_TYPE_NAME = (
    "CASE upper(t) WHEN 'DOUBLE' THEN 'double precision' WHEN 'FLOAT' THEN 'real' "
    "WHEN 'BIGINT' THEN 'bigint' WHEN 'INTEGER' THEN 'integer' WHEN 'SMALLINT' THEN 'smallint' "
    "WHEN 'VARCHAR' THEN 'text' WHEN 'BOOLEAN' THEN 'boolean' WHEN 'DATE' THEN 'date' "
    "WHEN 'TIMESTAMP' THEN 'timestamp without time zone' "
    "WHEN 'TIMESTAMP WITH TIME ZONE' THEN 'timestamp with time zone' WHEN 'BLOB' THEN 'bytea' "
    "WHEN 'DOUBLE[]' THEN 'double precision[]' ELSE coalesce(lower(t), 'unknown') END"
)
_PG_TYPE_OID = (
    "CASE upper(t) WHEN 'DOUBLE' THEN 701 WHEN 'FLOAT' THEN 700 WHEN 'BIGINT' THEN 20 "
    "WHEN 'INTEGER' THEN 23 WHEN 'SMALLINT' THEN 21 WHEN 'VARCHAR' THEN 25 WHEN 'BOOLEAN' THEN 16 "
    "WHEN 'DATE' THEN 1082 WHEN 'TIMESTAMP' THEN 1114 WHEN 'TIMESTAMP WITH TIME ZONE' THEN 1184 "
    "WHEN 'BLOB' THEN 17 WHEN 'DOUBLE[]' THEN 1022 ELSE 705 END"  # 705: unknown
)
_FUNCTION_VIEWS = {
    "pg_proc": f"SELECT p.* REPLACE (CASE WHEN {_USER_FUNCTION} THEN {_MAIN_SCHEMA} ELSE "
    f"p.pronamespace END AS pronamespace, {HOME}.__sqlml_pg_type_oid(f.return_type) AS "
    "prorettype, array_to_string(list_transform(f.parameter_types, lambda t: "
    f"{HOME}.__sqlml_pg_type_oid(t)), ' ') AS proargtypes, NULL::VARCHAR AS proargnames) FROM pg_catalog.pg_proc p JOIN duckdb_functions() f "
    "ON f.function_oid = p.oid",
}

_MACROS = [
    f"__sqlml_pg_type_name(t) AS {_PG_TYPE_NAME}",
    f"__sqlml_pg_type_oid(t) AS {_PG_TYPE_OID}",
    "_pg_expandarray(arr) AS unnest(list_transform(range(1, len(arr) + 1), "
    "lambda i: {'x': arr[i], 'n': i}))",
    "pg_function_is_visible(fn) AS true",
    # DuckDB lists "main" once per attached catalog (pgcli then offers each column three times)
    "current_schemas(implicit) AS CASE WHEN implicit THEN ['pg_catalog', 'main'] ELSE ['main'] END",
    "pg_get_userbyid(role) AS 'sqlml'",
    "pg_encoding_to_char(encoding) AS 'UTF8'",
    "pg_char_to_encoding(name) AS 6",
    "pg_get_indexdef(idx) AS (SELECT i.sql FROM duckdb_indexes() i WHERE i.index_oid = idx), "
    "(idx, col, pretty) AS CASE WHEN col = 0 THEN (SELECT i.sql FROM duckdb_indexes() i WHERE "
    f"i.index_oid = idx) ELSE coalesce((SELECT d.names[col] FROM {_INDEX_NAMES} d WHERE "
    "d.index_oid = idx), (SELECT k.constraint_column_names[col] FROM duckdb_constraints() k "
    f"WHERE {_KEY_OID} = idx)) END",
    "pg_get_expr(expr, relation) AS expr, (expr, relation, pretty) AS expr",
    "pg_get_partkeydef(relation) AS NULL::VARCHAR",
    "pg_relation_is_publishable(relation) AS false",
    "pg_get_viewdef(v) AS (SELECT w.sql FROM duckdb_views() w WHERE w.view_oid = v), "
    "(v, pretty) AS (SELECT w.sql FROM duckdb_views() w WHERE w.view_oid = v)",
    "array_upper(arr, dim) AS len(arr)",
    "array_lower(arr, dim) AS CASE WHEN len(arr) > 0 THEN 1 END",
    "pg_get_statisticsobjdef_columns(statistic) AS NULL::VARCHAR",
    "pg_get_triggerdef(trigger) AS NULL::VARCHAR, (trigger, pretty) AS NULL::VARCHAR",
    "pg_get_ruledef(rule) AS NULL::VARCHAR, (rule, pretty) AS NULL::VARCHAR",
    "pg_get_function_arguments(fn) AS (SELECT coalesce(string_agg(name || ' ' || "
    f"{HOME}.__sqlml_pg_type_name(kind), ', '), '') FROM (SELECT unnest(f.parameters) AS name, "
    "unnest(f.parameter_types) AS kind FROM duckdb_functions() f WHERE f.function_oid = fn))",
    "pg_get_functiondef(fn) AS NULL::VARCHAR",
    f"pg_get_function_result(fn) AS (SELECT {HOME}.__sqlml_pg_type_name(f.return_type) FROM "
    "duckdb_functions() f WHERE f.function_oid = fn LIMIT 1)",
    "pg_get_function_identity_arguments(fn) AS (SELECT coalesce(string_agg("
    f"{HOME}.__sqlml_pg_type_name(kind), ', '), '') FROM (SELECT unnest(f.parameter_types) AS kind "
    "FROM duckdb_functions() f WHERE f.function_oid = fn))",
    "pg_relation_size(relation) AS 0::BIGINT, (relation, fork) AS 0::BIGINT",
    "pg_table_size(relation) AS 0::BIGINT",
    "pg_total_relation_size(relation) AS 0::BIGINT",
    "pg_indexes_size(relation) AS 0::BIGINT",
    "pg_database_size(db) AS 0::BIGINT",
    "pg_backend_pid() AS 0",
    "pg_is_in_recovery() AS false",
    "pg_get_serial_sequence(tab, col) AS NULL::VARCHAR",
    "pg_tablespace_location(ts) AS ''",
    "pg_stat_get_numscans(relation) AS 0::BIGINT",
    "txid_current() AS 1::BIGINT",
    "quote_ident(name) AS '\"' || replace(name, '\"', '\"\"') || '\"'",
    "to_regclass(name) AS (SELECT oid FROM pg_catalog.pg_class WHERE relname = name LIMIT 1)",
]

_HIDDEN_SCHEMAS = f"(SELECT oid FROM duckdb_schemas() WHERE database_name = '{EMULATION}')"
# only the objects of schemas pg_namespace lists (DuckDB's own information_schema and pg_catalog
# views would be in a schema no client can name: pgcli logs "unrecognized schema None")
_VIEWS["pg_class"] += (
    f" WHERE relnamespace NOT IN {_HIDDEN_SCHEMAS} "
    "AND relnamespace IN (SELECT oid FROM pg_catalog.pg_namespace)"
)
_VIEWS["pg_database"] += f" AND d.datname <> '{EMULATION}'"
_VIEWS["pg_class"] += (
    " UNION ALL BY NAME SELECT "
    + _KEY_OID
    + " AS oid, k.constraint_name AS relname, k.schema_oid AS relnamespace, 'i' AS relkind, "
    "'p' AS relpersistence, len(k.constraint_column_indexes) AS relnatts, 'd' AS relreplident, "
    "0 AS relam, 0 AS reltuples, 0 AS relpages, "
    f"false AS relforcerowsecurity FROM {_KEYS}"
)
_VIEWS |= _KEY_VIEWS | _FUNCTION_VIEWS
_VIEWS["pg_settings"] = (
    "SELECT * FROM pg_catalog.pg_settings UNION ALL BY NAME SELECT * FROM (VALUES "
    "('max_index_keys', '32', 'integer'), ('max_identifier_length', '63', 'integer'), "
    "('server_version_num', '" + PG_VERSION_NUM + "', 'integer')) AS v(name, setting, vartype)"
)
# pg_type: typrelid 0, not NULL (JDBC's getTypeInfo keeps typrelid = 0), and the "name" and "text"
# types PostgreSQL has (the server sends VARCHAR columns as text).
_VIEWS["pg_type"] = (
    "SELECT * REPLACE (coalesce(typrelid, 0) AS typrelid, coalesce(typelem, 0) AS typelem, "
    "coalesce(typbasetype, 0) AS typbasetype) FROM pg_catalog.pg_type UNION ALL BY NAME "
    "SELECT v.*, 0 AS typrelid, 0 AS typelem, 0 AS typbasetype, 'b' AS typtype, "
    f"{PG_CATALOG_OID} AS typnamespace FROM (VALUES (19::BIGINT, 'name', 64, 'S'), "
    "(25::BIGINT, 'text', -1, 'S'), (2278::BIGINT, 'void', 4, 'P'), (2279::BIGINT, 'trigger', 4, "
    "'P')) "
    "AS v(oid, typname, typlen, typcategory)"
)
# pg_catalog, as PostgreSQL names it (oid 11): the namespace of the types above (JDBC reads the
# longest name from pg_catalog's "name"); DuckDB's own catalog views stay out of pg_class
_VIEWS["pg_namespace"] = (
    f"SELECT * FROM pg_catalog.pg_namespace WHERE oid NOT IN {_HIDDEN_SCHEMAS} UNION ALL BY NAME "
    f"SELECT {PG_CATALOG_OID}::BIGINT AS oid, 'pg_catalog' AS nspname, 10 AS nspowner"
)


def setup_statements() -> list[str]:
    """The emulated catalog: views and macros in an in-memory database of their own.

    Attached rather than temporary, so they stay out of ``SHOW TABLES`` and the user's file; the
    rewrites (``rewrite.py``) name them in full.
    """
    statements = [f"ATTACH IF NOT EXISTS ':memory:' AS {EMULATION} (READ_WRITE)"]
    statements += [f"CREATE OR REPLACE MACRO {HOME}.{macro}" for macro in _MACROS]
    for table, columns in _EMPTY_TABLES.items():
        nulls = ", ".join(
            f"NULL::{column.split(' ', 1)[1]} AS {column.split(' ', 1)[0]}"
            for column in _split_columns(columns)
        )
        statements.append(f"CREATE OR REPLACE VIEW {HOME}.{table} AS SELECT {nulls} WHERE false")
    statements += [f"CREATE OR REPLACE VIEW {HOME}.{name} AS {sql}" for name, sql in _VIEWS.items()]
    return statements


def _split_columns(columns: str) -> list[str]:
    return [c.strip() for c in columns.split(", ")]


TABLES = sorted(set(_EMPTY_TABLES) | set(_VIEWS))
FUNCTIONS = sorted({m.split("(", 1)[0] for m in _MACROS})
