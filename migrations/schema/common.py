"""The vocabulary of the reference-schema description: abstract column types, tables,
columns, foreign keys and the columns every Dataverse or F&O table shares."""
import re

AMOUNT = "dec(19,4)"   # money: the range of Dataverse money (+-922,337,203,685,477.0000)
PRICE = "dec(19,4)"    # unit prices are money too
QTY = "dec(19,6)"      # quantities and hours
RATE = "dec(23,10)"    # exchange rates: Dataverse exchangerate precision
PERCENT = "dec(5,2)"   # 0.00 .. 100.00


def col(name, typ, *, null=True, default=None, check=None, comment=None, unique=False):
    return dict(name=name, typ=typ, null=null, default=default, check=check, comment=comment,
                unique=unique)


def table(name, comment, cols, pk, fks=(), uniques=(), indexes=()):
    return dict(name=name, comment=comment, cols=cols, pk=pk, fks=list(fks),
                uniques=list(uniques), indexes=list(indexes))


def fk(cols, ref_table, ref_cols, on_delete=None):
    return dict(cols=cols, ref_table=ref_table, ref_cols=ref_cols, on_delete=on_delete)


def std_op(state=True):
    """statecode/statuscode/createdon/modifiedon of a Dataverse table."""
    c = []
    if state:
        c += [
            col("statecode", "int", null=False, default=0, comment="0 Active, 1 Inactive"),
            col("statuscode", "int", null=False, default=1, comment="1 Active, 2 Inactive"),
        ]
    c += [
        col("createdon", "datetime", null=False, default="now"),
        col("modifiedon", "datetime", null=False, default="now"),
    ]
    return c


def enum(*values):
    return ("in", values)



# Accounting-side columns many tables share.
DATAAREA = lambda: col("DataAreaId", "text", null=False, comment="legal entity")
STAGE_AREA = lambda: col("ProjectDataAreaId", "text", null=False, comment="legal entity of the project")
IS_PROCESSED = lambda: col("IsProcessed", "bool", null=False, default=False,
                           comment="set by the accounting processes; never written by the sync")


def q(ident):
    """Quote identifiers that are not plain lowercase (PostgreSQL would fold them)."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", ident):
        return ident
    return '"' + ident + '"'
