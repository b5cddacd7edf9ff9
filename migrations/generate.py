#!/usr/bin/env python3
"""Generates the four reference-schema migrations (operational/accounting x sqlite/postgres)
from one description, so the SQLite and PostgreSQL versions cannot drift apart. The tables are
described in schema/ (common.py: the vocabulary; operational.py, accounting.py and
accounting_later.py: the tables of each migration); this script adds the columns later migrations
add, the triggers, and renders both dialects.

Column types are abstract:
  text, int (option sets, small counts), bigint (sequence numbers, line numbers),
  dec(p,s), bool, date, datetime, guid, identity (auto-numbered BIGINT primary key).
"""
import os
import re
import sys

# Writes next to this script; `--check` compares instead and fails when a file is stale.
CHECK = "--check" in sys.argv[1:]
OUT = os.path.dirname(os.path.abspath(__file__))

# The table descriptions live in schema/; this script adds the triggers and renders the SQL.
sys.path.insert(0, OUT)
from schema.common import col, q  # noqa: E402
from schema.operational import OPERATIONAL, OPERATIONAL_0002, OPERATIONAL_0003, OPERATIONAL_0004  # noqa: E402
from schema.accounting import ACCOUNTING  # noqa: E402
from schema.accounting_later import ACCOUNTING_0002, ACCOUNTING_0004, ACCOUNTING_0005  # noqa: E402

# Only these columns of an integration journal line may be edited (and not once posted); the
# processes also move lines (JournalId, LineNum) and set Status, ErrorMessage, PostedDateTime.
LINE_EDITABLE = ["BillingSalesTaxGroup", "BillingItemSalesTaxGroup", "DefaultDimensionDisplayValue"]
LINE_PROCESS = ["JournalId", "LineNum", "Status", "ErrorMessage", "PostedDateTime"]
LINE_MESSAGE = ("only BillingSalesTaxGroup, BillingItemSalesTaxGroup and DefaultDimensionDisplayValue "
                "can be changed on an integration journal line")
POSTED_MESSAGE = "a posted integration journal line cannot be changed"


def line_guard(dialect, process=LINE_PROCESS, extra=()):
    """The trigger that refuses edits of journal lines beyond the editable columns (`extra`:
    columns later migrations added)."""
    line = next(t for t in ACCOUNTING if t["name"] == "ProjCDSIntegrationJournalLine")
    fixed = [c["name"] for c in line["cols"] if c["name"] not in LINE_EDITABLE + process] + list(extra)
    if dialect == "sqlite":
        changed = lambda cols: " OR ".join(f'NEW.{q(c)} IS NOT OLD.{q(c)}' for c in cols)
        return f"""-- Journal lines: only the billing sales tax groups and the financial dimensions may be edited,
-- and nothing once posted.
CREATE TRIGGER "ProjCDSIntegrationJournalLine_guard" BEFORE UPDATE ON "ProjCDSIntegrationJournalLine"
WHEN {changed(fixed)}
BEGIN
    SELECT RAISE(ABORT, '{LINE_MESSAGE}');
END;
CREATE TRIGGER "ProjCDSIntegrationJournalLine_posted_guard" BEFORE UPDATE ON "ProjCDSIntegrationJournalLine"
WHEN OLD."Status" = 'Posted' AND ({changed(LINE_EDITABLE)})
BEGIN
    SELECT RAISE(ABORT, '{POSTED_MESSAGE}');
END;
"""
    row = lambda side, cols: "(" + ", ".join(f"{side}.{q(c)}" for c in cols) + ")"
    return f"""-- Journal lines: only the billing sales tax groups and the financial dimensions may be edited,
-- and nothing once posted.
CREATE FUNCTION "ProjCDSIntegrationJournalLine_guard"() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF {row("NEW", fixed)} IS DISTINCT FROM {row("OLD", fixed)} THEN
        RAISE EXCEPTION '{LINE_MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    IF OLD."Status" = 'Posted' AND {row("NEW", LINE_EDITABLE)} IS DISTINCT FROM {row("OLD", LINE_EDITABLE)} THEN
        RAISE EXCEPTION '{POSTED_MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$fn$;
CREATE TRIGGER "ProjCDSIntegrationJournalLine_guard" BEFORE UPDATE ON "ProjCDSIntegrationJournalLine"
    FOR EACH ROW EXECUTE FUNCTION "ProjCDSIntegrationJournalLine_guard"();
"""


# Migration 0003 of the accounting store: every actual journalized and posted at most once.
# The store itself enforces it, whatever program writes: one integration journal line and one
# subledger row per legal entity and actual (the import also refuses an actual that already has
# a line or a posting in another legal entity), and a posted line is never deleted.
LINE_DELETE_MESSAGE = ("a posted integration journal line cannot be deleted: it is in the project "
                       "subledger; reverse the transaction instead")


def once_per_actual(dialect):
    """Unique keys on journal lines and posted transactions; the delete guard of posted lines."""
    out = ["-- One journal line and one subledger row per legal entity and actual. ActualId first, so",
           "-- the import's look-up of an actual in any legal entity uses the index too.",
           "DROP INDEX ix_projcdsintegrationjournalline_dataareaid_actualid;",
           "DROP INDEX ix_projpostedtranstable_dataareaid_actualid;"]
    for t in ("ProjCDSIntegrationJournalLine", "ProjPostedTransTable"):
        out.append(f"CREATE UNIQUE INDEX ux_{t.lower()}_actualid_dataareaid ON {q(t)} "
                   f'("ActualId", "DataAreaId");')
    out.append("")
    out.append("-- A posted journal line is never deleted (nor by deleting its journal: the cascade")
    out.append("-- deletes each line through this rule).")
    if dialect == "sqlite":
        out.append(f"""CREATE TRIGGER "ProjCDSIntegrationJournalLine_delete_guard" BEFORE DELETE ON "ProjCDSIntegrationJournalLine"
WHEN OLD."Status" = 'Posted'
BEGIN
    SELECT RAISE(ABORT, '{LINE_DELETE_MESSAGE}');
END;
""")
    else:
        out.append(f"""CREATE FUNCTION "ProjCDSIntegrationJournalLine_delete_guard"() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF OLD."Status" = 'Posted' THEN
        RAISE EXCEPTION '{LINE_DELETE_MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
END
$fn$;
CREATE TRIGGER "ProjCDSIntegrationJournalLine_delete_guard" BEFORE DELETE ON "ProjCDSIntegrationJournalLine"
    FOR EACH ROW EXECUTE FUNCTION "ProjCDSIntegrationJournalLine_delete_guard"();
""")
    return "\n".join(out)


ADDED_COLUMNS = {
    "operational/0002": {
        "msdyn_actuals": [
            col("msdyn_invoice", "guid", comment="the proforma invoice of a billed sales actual"),
        ],
    },
    "accounting/0004": {
        "ProjParameters": [
            col("SalesTaxGroup", "text",
                comment="billing sales tax group when neither the project nor the contract names one"),
            col("MilestoneItemSalesTaxGroup", "text", comment="item sales tax group of milestone billing"),
            col("InvoiceNumberSequenceCode", "text", comment="customer invoice numbers"),
        ],
        "ProjCategory": [
            col("ItemSalesTaxGroup", "text", comment="item sales tax group of the category's sales lines"),
        ],
        "ProjCDSActualsImport": [
            col("InvoiceId", "guid", comment="the proforma invoice of a billed sales actual"),
        ],
    },
    "operational/0003": {
        "msdyn_actuals": [
            col("msdyn_externalreferenceid", "text",
                comment="the source document line (an expense or vendor invoice line) of a cost actual"),
        ],
        "msdyn_estimatelines": [
            col("msdyn_expensecategory", "guid", comment="expense estimates: the legal entity's expense category"),
        ],
    },
    "operational/0004": {
        "salesorders": [
            col("pricelevelid", "guid", comment="the contract's sales price list"),
        ],
    },
    "accounting/0005": {
        "ProjParameters": [
            col("ExpenseIntegrationAccount", "text",
                comment="debited when an expense report posts; the journal line of the expense actual clears it"),
            col("ExpensePayableAccount", "text", comment="credited when an expense report posts: owed to the worker"),
            col("ProcurementIntegrationAccount", "text",
                comment="debited when a vendor invoice posts; the journal line of its cost actual clears it"),
            col("VendorPayableAccount", "text", comment="credited when a vendor invoice posts: the vendor balance"),
        ],
        "ProjCDSActualsImport": [
            col("ExternalReferenceId", "text", comment="the source document line of a cost actual"),
        ],
        "ProjCDSEstimateExpenseImport": [
            col("ExpenseCategoryId", "guid", comment="the expense category (ProjExpenseCategoriesExport)"),
        ],
        "ProjCDSIntegrationJournalLine": [
            col("OffsetMainAccount", "text",
                comment="set by the import: the integration account the source document posted to"),
        ],
    },
}


def added(migration, dialect):
    return "\n".join(add_columns(t, cols, dialect) for t, cols in ADDED_COLUMNS[migration].items())


def schema(side):
    """Every table of a side as the migrations leave it: created tables with the columns later
    migrations add (for the OData test servers, which serve the reference schema)."""
    import copy
    if side == "operational":
        tables = OPERATIONAL + OPERATIONAL_0002 + OPERATIONAL_0003 + OPERATIONAL_0004
        migrations = ["operational/0002", "operational/0003", "operational/0004"]
    else:
        tables = ACCOUNTING + ACCOUNTING_0002 + ACCOUNTING_0004 + ACCOUNTING_0005
        migrations = ["accounting/0004", "accounting/0005"]
    tables = copy.deepcopy(tables)
    by_name = {t["name"]: t for t in tables}
    for m in migrations:
        for t, cols in ADDED_COLUMNS[m].items():
            by_name[t]["cols"].extend(copy.deepcopy(cols))
    return tables


def operational_0002(dialect):
    return added("operational/0002", dialect)


def operational_0003(dialect):
    return added("operational/0003", dialect)


JOURNAL_LOCKED = "a confirmed entry journal and its lines can no longer be changed"


def operational_0004(dialect):
    """The contract's price list, and the lock of confirmed entry journals: a confirmed journal
    and its lines cannot be changed or deleted, nor lines added to it."""
    out = [added("operational/0004", dialect), "", "-- " + JOURNAL_LOCKED + "."]
    confirmed = "(SELECT j.msdyn_journalstatus FROM msdyn_journals j WHERE j.msdyn_journalid = {}.msdyn_journal) = 192350001"
    if dialect == "sqlite":
        for event, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
            out.append(f"""CREATE TRIGGER msdyn_journallines_locked_{event.lower()} BEFORE {event} ON msdyn_journallines
WHEN {confirmed.format(row)}
BEGIN
    SELECT RAISE(ABORT, '{JOURNAL_LOCKED}');
END;""")
        for event in ("UPDATE", "DELETE"):
            out.append(f"""CREATE TRIGGER msdyn_journals_locked_{event.lower()} BEFORE {event} ON msdyn_journals
WHEN OLD.msdyn_journalstatus = 192350001
BEGIN
    SELECT RAISE(ABORT, '{JOURNAL_LOCKED}');
END;""")
        return "\n".join(out) + "\n"
    out.append(f"""CREATE FUNCTION msdyn_journallines_locked() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF (TG_OP <> 'DELETE' AND {confirmed.format("NEW")}) OR (TG_OP <> 'INSERT' AND {confirmed.format("OLD")}) THEN
        RAISE EXCEPTION '{JOURNAL_LOCKED}' USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$fn$;
CREATE TRIGGER msdyn_journallines_locked BEFORE INSERT OR UPDATE OR DELETE ON msdyn_journallines
    FOR EACH ROW EXECUTE FUNCTION msdyn_journallines_locked();
CREATE FUNCTION msdyn_journals_locked() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF OLD.msdyn_journalstatus = 192350001 THEN
        RAISE EXCEPTION '{JOURNAL_LOCKED}' USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$fn$;
CREATE TRIGGER msdyn_journals_locked BEFORE UPDATE OR DELETE ON msdyn_journals
    FOR EACH ROW EXECUTE FUNCTION msdyn_journals_locked();
""")
    return "\n".join(out)


def accounting_0005(dialect):
    out = [added("accounting/0005", dialect)]
    # The journal-line guard again, with the new offset account among the fixed columns.
    if dialect == "sqlite":
        out.append('DROP TRIGGER "ProjCDSIntegrationJournalLine_guard";\n'
                   'DROP TRIGGER "ProjCDSIntegrationJournalLine_posted_guard";\n')
    else:
        out.append('DROP TRIGGER "ProjCDSIntegrationJournalLine_guard" ON "ProjCDSIntegrationJournalLine";\n'
                   'DROP FUNCTION "ProjCDSIntegrationJournalLine_guard"();\n')
    out.append(line_guard(dialect, LINE_PROCESS + ["SalesTaxAmount"], extra=["OffsetMainAccount"]))
    # Import from staging finds the source document of a cost actual by its text reference.
    for t, c in (("ProjExpenseExportEntity", "ExpenseLineId"), ("ProjVendInvoiceLinesExportEntity", "VendInvoiceLineId")):
        expr = f'CAST({q(c)} AS TEXT)'
        out.append(f'CREATE INDEX ix_{t.lower()}_{c.lower()}_text ON {q(t)} ({expr if dialect == "sqlite" else "(" + expr + ")"});')
    return "\n".join(out)


def add_columns(table_name, cols, dialect):
    """ALTER TABLE ... ADD COLUMN for each column (nullable or with a default)."""
    out = []
    for c in cols:
        line = f"ALTER TABLE {q(table_name)} ADD COLUMN {col_line(c, None, dialect)};"
        if c["comment"]:
            line += f"  -- {c['comment']}"
        out.append(line)
    return "\n".join(out) + "\n"


def accounting_0004(dialect):
    out = [added("accounting/0004", dialect)]
    # The journal-line guard again, now letting the processes set SalesTaxAmount (posting
    # computes it from the line's tax groups as they are then).
    if dialect == "sqlite":
        out.append('DROP TRIGGER "ProjCDSIntegrationJournalLine_guard";\n'
                   'DROP TRIGGER "ProjCDSIntegrationJournalLine_posted_guard";\n')
    else:
        out.append('DROP TRIGGER "ProjCDSIntegrationJournalLine_guard" ON "ProjCDSIntegrationJournalLine";\n'
                   'DROP FUNCTION "ProjCDSIntegrationJournalLine_guard"();\n')
    out.append(line_guard(dialect, LINE_PROCESS + ["SalesTaxAmount"]))
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------


def sql_type(typ, dialect):
    m = re.fullmatch(r"dec\((\d+),(\d+)\)", typ)
    if m:
        if dialect == "sqlite":
            return f"DECIMAL_TEXT({m.group(1)},{m.group(2)})"
        return f"NUMERIC({m.group(1)},{m.group(2)})"
    # SQLite declared types name the logical type (dualsync reads them from the catalog) and
    # keep the right affinity: *_TEXT names have TEXT affinity, so '0.10' stays '0.10'.
    sqlite = {"text": "TEXT", "int": "INTEGER", "bigint": "INTEGER", "bool": "BOOLEAN",
              "date": "DATE_TEXT", "datetime": "DATETIME_TEXT", "guid": "UUID_TEXT",
              "identity": "INTEGER"}
    pg = {"text": "TEXT", "int": "INTEGER", "bigint": "BIGINT", "bool": "BOOLEAN",
          "date": "DATE", "datetime": "TIMESTAMPTZ", "guid": "UUID",
          "identity": "BIGINT GENERATED BY DEFAULT AS IDENTITY"}
    return (sqlite if dialect == "sqlite" else pg)[typ]


def sql_default(c, dialect):
    d = c["default"]
    if d is None:
        return None
    if d == "now":
        return "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))" if dialect == "sqlite" else "now()"
    if d == "uuid":
        # A random (version 4) UUID, lowercase and hyphenated as the store keeps UUIDs.
        if dialect == "postgres":
            return "gen_random_uuid()"
        return ("(lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
                "substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || "
                "substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))))")
    if isinstance(d, bool):
        if dialect == "sqlite":
            return "1" if d else "0"
        return "true" if d else "false"
    if isinstance(d, int):
        return str(d)
    return "'" + d.replace("'", "''") + "'"


def col_line(c, t, dialect):
    parts = [q(c["name"]), sql_type(c["typ"], dialect)]
    if c["typ"] == "identity" and dialect == "sqlite":
        parts.append("PRIMARY KEY")  # rowid alias: auto-numbered
    if not c["null"] and c["typ"] != "identity":
        parts.append("NOT NULL")
    d = sql_default(c, dialect)
    if d is not None:
        parts.append("DEFAULT " + d)
    if c["unique"]:
        parts.append("UNIQUE")
    checks = []
    if c["check"]:
        _, values = c["check"]
        checks.append(f"{q(c['name'])} IN (" + ", ".join("'" + v + "'" for v in values) + ")")
    if c["typ"] == "bool" and dialect == "sqlite":
        checks.append(f"{q(c['name'])} IN (0, 1)")
    for ch in checks:
        parts.append(f"CHECK ({ch})")
    return " ".join(parts)


def comment_lines(text, indent=""):
    return [f"{indent}-- {line}" if line else f"{indent}--" for line in text.split("\n")]


def render_table(t, dialect):
    out = comment_lines(t["comment"])
    out.append(f"CREATE TABLE {q(t['name'])} (")
    body = []  # (sql, comment)
    identity_pk = any(c["typ"] == "identity" for c in t["cols"])
    for c in t["cols"]:
        body.append((col_line(c, t, dialect), c["comment"]))
    if identity_pk and dialect == "postgres":
        body.append(("PRIMARY KEY (" + ", ".join(q(k) for k in t["pk"]) + ")", None))
    elif not identity_pk:
        body.append(("PRIMARY KEY (" + ", ".join(q(k) for k in t["pk"]) + ")", None))
    for u in t["uniques"]:
        body.append(("UNIQUE (" + ", ".join(q(k) for k in u) + ")", None))
    for f in t["fks"]:
        s = ("FOREIGN KEY (" + ", ".join(q(k) for k in f["cols"]) + ") REFERENCES "
             + q(f["ref_table"]) + " (" + ", ".join(q(k) for k in f["ref_cols"]) + ")")
        if f["on_delete"]:
            s += " ON DELETE " + f["on_delete"]
        body.append((s, None))
    for i, (s, cm) in enumerate(body):
        sep = "," if i < len(body) - 1 else ""
        if cm:
            cm_lines = cm.split("\n")
            out.append(f"    {s}{sep}  -- {cm_lines[0]}")
            for extra in cm_lines[1:]:
                out.append(f"    {'':{len(s) + len(sep)}}  -- {extra}")
        else:
            out.append(f"    {s}{sep}")
    out.append(");")
    for cols in t["indexes"]:
        iname = "ix_" + t["name"].lower() + "_" + "_".join(c.lower() for c in cols)
        out.append(f"CREATE INDEX {iname} ON {q(t['name'])} (" + ", ".join(q(c) for c in cols) + ");")
    return "\n".join(out)


HEADER = {
    "sqlite": """\
-- Type conventions (SQLite has no decimal, boolean, date or UUID types). The declared type
-- names the logical type, which dualsync reads from the catalog; every *_TEXT type has TEXT
-- affinity, so SQLite never converts the stored text:
--   DECIMAL_TEXT(p,s)  canonical decimal text (e.g. '1234.5000', '-0.25'), never REAL, so no
--                      binary rounding ever touches money (amounts and prices 19,4;
--                      quantities and hours 19,6; exchange rates 23,10)
--   BOOLEAN            INTEGER 0/1
--   DATE_TEXT          'YYYY-MM-DD'
--   DATETIME_TEXT      RFC 3339 in UTC, e.g. '2024-01-31T09:30:00Z'
--   UUID_TEXT          lowercase hyphenated, e.g. '6f1e2c3a-0b1d-4e5f-8a9b-0c1d2e3f4a5b'
--   INTEGER            option-set codes, counters
""",
    "postgres": """\
-- Type conventions: NUMERIC(p,s) matching the table maps (amounts and prices 19,4; quantities
-- and hours 19,6; exchange rates 23,10), BOOLEAN, DATE, TIMESTAMPTZ, UUID, INTEGER for
-- option-set codes, BIGINT for counters. Mixed-case identifiers are quoted so they keep the
-- exact names the table maps use.
""",
}

INTRO = {
    "operational": """\
-- Reference schema of the OPERATIONAL store (a Dataverse-like system: Project Operations).
-- Contracts, projects, tasks, estimates and actuals are created and deleted here. Table and
-- column names are Dataverse logical names; every table is keyed by a GUID. Company-scoped
-- tables carry msdyn_company, the legal-entity code (the accounting DataAreaId).
-- Foreign keys only where a parent owns its children (deleting it deletes them, as in
-- Dataverse); actuals, estimates' references and connections keep plain GUIDs.
""",
    "accounting": """\
-- Reference schema of the ACCOUNTING store (a finance-and-operations-like system).
-- Holds the prerequisites (legal entities, currencies and rates, fiscal periods, number
-- sequences, parameters), the entities the table maps write (company-specific ones keyed by
-- DataAreaId, staging tables by ProjectDataAreaId), and the tables of the accounting
-- processes: forecasts, integration journals, the project subledger and the general ledger.
-- Record ids of synced entities (ProjectId, ContractId, ActualId, ...) are the operational
-- GUIDs (see table-maps/projects.toml). Synced and staging tables have no foreign keys: the
-- sync writes parents first, but a staging row must never be rejected for a missing parent.
""",
}


def render(store, file, intro, tables, dialect, extra=None):
    out = [f"-- {store}/{dialect}/{file}: generated by migrations/generate.py",
           "-- from one description for both dialects. Edit the script, not this file.", "--"]
    out.append(intro.rstrip("\n"))
    out.append("--")
    out.append(HEADER[dialect].rstrip("\n"))
    out.append("")
    for t in tables:
        out.append(render_table(t, dialect))
        out.append("")
    if extra:
        out.append(extra(dialect))
    return "\n".join(out)


def main():
    stale = []
    migrations = (
        ("operational", "0001_reference_schema.sql", INTRO["operational"], OPERATIONAL, None),
        ("accounting", "0001_reference_schema.sql", INTRO["accounting"], ACCOUNTING, None),
        ("accounting", "0002_job_log.sql",
         "-- The job log of the accounting processes (dualsync journal log), and the rule that only\n"
         "-- the editable columns of an integration journal line may be changed.\n",
         ACCOUNTING_0002, line_guard),
        ("accounting", "0003_once_per_actual.sql",
         "-- Every actual journalized and posted at most once, enforced by the store: unique keys on\n"
         "-- journal lines and posted transactions per legal entity and actual; posted lines are\n"
         "-- never deleted.\n",
         [], once_per_actual),
        ("operational", "0002_invoices.sql",
         "-- Proforma invoices, and the proforma invoice of each billed sales actual.\n",
         OPERATIONAL_0002, operational_0002),
        ("accounting", "0004_invoices_and_sales_tax.sql",
         "-- Sales tax (codes, groups, item groups, posted tax), project invoice proposals and posted\n"
         "-- invoices, and the parameters and staging columns they need.\n",
         ACCOUNTING_0004, accounting_0004),
        ("operational", "0003_expenses_and_vendor_invoices.sql",
         "-- Expense categories, expenses and project vendor invoices from the accounting side, and\n"
         "-- the source document of an actual.\n",
         OPERATIONAL_0003, operational_0003),
        ("operational", "0004_entry_journals.sql",
         "-- Entry journals and their lines, the price lists their prices default from, and the lock\n"
         "-- of a confirmed journal.\n",
         OPERATIONAL_0004, operational_0004),
        ("accounting", "0005_expenses_and_vendor_invoices.sql",
         "-- Expense categories, expense reports and vendor invoices, the integration accounts they\n"
         "-- post to, and the offset account of integration journal lines.\n",
         ACCOUNTING_0005, accounting_0005),
    )
    for store, file, intro, tables, extra in migrations:
        for dialect in ("sqlite", "postgres"):
            d = os.path.join(OUT, store, dialect)
            path = os.path.join(d, file)
            text = render(store, file, intro, tables, dialect, extra)
            if CHECK:
                current = open(path).read() if os.path.exists(path) else None
                if current != text:
                    stale.append(path)
                continue
            os.makedirs(d, exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
    if stale:
        print("stale (run python3 migrations/generate.py):", *stale, sep="\n  ")
        sys.exit(1)
    print("migrations checked" if CHECK else f"written to {OUT}")


if __name__ == "__main__":
    main()
