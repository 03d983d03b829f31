"""The emulated ``pg_catalog``: the tables, views and functions PostgreSQL clients query that DuckDB
lacks, created in an in-memory database attached to the server's connection."""

from __future__ import annotations

PG_VERSION = "15.0"
PG_VERSION_NUM = "150000"

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

_MACROS = [
    "pg_get_userbyid(role) AS 'sqlml'",
    "pg_encoding_to_char(encoding) AS 'UTF8'",
    "pg_char_to_encoding(name) AS 6",
    "pg_get_indexdef(idx) AS (SELECT i.sql FROM duckdb_indexes() i WHERE i.index_oid = idx), "
    "(idx, col, pretty) AS (SELECT i.sql FROM duckdb_indexes() i WHERE i.index_oid = idx)",
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
    "pg_get_function_arguments(fn) AS ''",
    "pg_get_functiondef(fn) AS NULL::VARCHAR",
    "pg_get_function_result(fn) AS ''",
    "pg_get_function_identity_arguments(fn) AS ''",
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

EMULATION = "__sqlml_pg"  # an in-memory database attached to the server's connection
HOME = f"{EMULATION}.main"
_HIDDEN_SCHEMAS = f"(SELECT oid FROM duckdb_schemas() WHERE database_name = '{EMULATION}')"
_VIEWS["pg_class"] += f" WHERE relnamespace NOT IN {_HIDDEN_SCHEMAS}"
_VIEWS["pg_database"] += f" AND d.datname <> '{EMULATION}'"
_VIEWS["pg_namespace"] = f"SELECT * FROM pg_catalog.pg_namespace WHERE oid NOT IN {_HIDDEN_SCHEMAS}"


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
