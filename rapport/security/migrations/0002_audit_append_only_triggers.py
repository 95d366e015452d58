"""Database triggers that make the audit tables append-only.

* ``security_auditevent``: UPDATE always refused; DELETE refused unless a row exists in
  ``security_auditpurgepermit`` (only ``audit.purge_expired`` creates one, inside its own
  transaction, so no other connection can see it).
* ``security_auditcheckpoint``: UPDATE and DELETE always refused.
* ``security_auditchainhead``: DELETE refused (the head is updated on every append).

The SQL is frozen here on purpose: later code changes must not alter what an old
migration installed. PostgreSQL's TRUNCATE does not fire row triggers; production should
run as a role without TRUNCATE (and ideally without UPDATE/DELETE) on these tables, and
``rapport audit verify`` still notices the missing entries through the chain head.
"""

from django.db import migrations

REFUSAL = "rapport: the audit trail is append-only"

SQLITE_CREATE = [
    f"""CREATE TRIGGER security_auditevent_no_update BEFORE UPDATE ON security_auditevent
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}: UPDATE refused'); END""",
    f"""CREATE TRIGGER security_auditevent_no_delete BEFORE DELETE ON security_auditevent
    WHEN NOT EXISTS (SELECT 1 FROM security_auditpurgepermit)
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}: DELETE refused'); END""",
    f"""CREATE TRIGGER security_auditcheckpoint_no_update BEFORE UPDATE ON security_auditcheckpoint
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}: UPDATE refused'); END""",
    f"""CREATE TRIGGER security_auditcheckpoint_no_delete BEFORE DELETE ON security_auditcheckpoint
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}: DELETE refused'); END""",
    f"""CREATE TRIGGER security_auditchainhead_no_delete BEFORE DELETE ON security_auditchainhead
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}: DELETE refused'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS security_auditevent_no_update",
    "DROP TRIGGER IF EXISTS security_auditevent_no_delete",
    "DROP TRIGGER IF EXISTS security_auditcheckpoint_no_update",
    "DROP TRIGGER IF EXISTS security_auditcheckpoint_no_delete",
    "DROP TRIGGER IF EXISTS security_auditchainhead_no_delete",
]

POSTGRES_CREATE = [
    f"""CREATE OR REPLACE FUNCTION rapport_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'security_auditevent'
           AND EXISTS (SELECT 1 FROM security_auditpurgepermit) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION '{REFUSAL}: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$""",
    """CREATE TRIGGER security_auditevent_append_only
    BEFORE UPDATE OR DELETE ON security_auditevent
    FOR EACH ROW EXECUTE FUNCTION rapport_audit_append_only()""",
    """CREATE TRIGGER security_auditcheckpoint_append_only
    BEFORE UPDATE OR DELETE ON security_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION rapport_audit_append_only()""",
    """CREATE TRIGGER security_auditchainhead_no_delete
    BEFORE DELETE ON security_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION rapport_audit_append_only()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS security_auditevent_append_only ON security_auditevent",
    "DROP TRIGGER IF EXISTS security_auditcheckpoint_append_only ON security_auditcheckpoint",
    "DROP TRIGGER IF EXISTS security_auditchainhead_no_delete ON security_auditchainhead",
    "DROP FUNCTION IF EXISTS rapport_audit_append_only()",
]

STATEMENTS = {
    "sqlite": (SQLITE_CREATE, SQLITE_DROP),
    "postgresql": (POSTGRES_CREATE, POSTGRES_DROP),
}


def _run(schema_editor, statements):
    for statement in statements:
        # params=None: the PostgreSQL function body contains literal % signs.
        schema_editor.execute(statement, params=None)


def _statements_for(schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor not in STATEMENTS:
        raise RuntimeError(f"no append-only audit triggers for database vendor {vendor!r}")
    return STATEMENTS[vendor]


def create_triggers(apps, schema_editor):
    _run(schema_editor, _statements_for(schema_editor)[0])


def drop_triggers(apps, schema_editor):
    _run(schema_editor, _statements_for(schema_editor)[1])


class Migration(migrations.Migration):
    dependencies = [("security", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
