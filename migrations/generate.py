#!/usr/bin/env python3
"""Generates the four reference-schema migrations (operational/accounting x sqlite/postgres)
from one description, so the SQLite and PostgreSQL versions cannot drift apart.

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


# ----------------------------------------------------------------------------------------------
# Operational store (Dataverse-like): lowercase logical names, GUID primary keys.
# ----------------------------------------------------------------------------------------------
OPERATIONAL = [
    table("cdm_companies", "Legal entities (companies) known to the operational system.", [
        col("cdm_companyid", "guid", null=False),
        col("cdm_companycode", "text", null=False, unique=True,
            comment="legal-entity code, the accounting DataAreaId (e.g. USPM)"),
        col("cdm_name", "text"),
        *std_op(),
    ], ["cdm_companyid"]),

    table("msdyn_organizationalunits", "Organizational units (contracting and resourcing units).", [
        col("msdyn_organizationalunitid", "guid", null=False),
        col("msdyn_name", "text"),
        col("msdyn_company", "text", comment="legal-entity code of the unit"),
        col("transactioncurrencyid", "guid"),
        *std_op(),
    ], ["msdyn_organizationalunitid"]),

    table("accounts", "Customers (accounts). Synced by the customers map, outside this set.", [
        col("accountid", "guid", null=False),
        col("name", "text"),
        col("accountnumber", "text"),
        col("msdyn_company", "text", comment="legal-entity code of the customer"),
        col("transactioncurrencyid", "guid"),
        *std_op(),
    ], ["accountid"]),

    table("transactioncurrencies", "Currencies. A prerequisite, not synced by these maps.", [
        col("transactioncurrencyid", "guid", null=False),
        col("isocurrencycode", "text", null=False, unique=True),
        col("currencyname", "text"),
        col("currencysymbol", "text"),
        col("currencyprecision", "int", null=False, default=2),
        col("exchangerate", RATE, comment="rate to the organization's base currency"),
        *std_op(),
    ], ["transactioncurrencyid"]),

    table("salesorders", "Project contracts (sales orders of order type Work based).", [
        col("salesorderid", "guid", null=False),
        col("msdyn_company", "text", null=False, comment="legal-entity code of the contract"),
        col("name", "text"),
        col("ordernumber", "text"),
        col("msdyn_ordertype", "int",
            comment="192350000 Item based, 192350001 Work based (project contract), 690970002 Service-maintenance based"),
        col("customerid", "guid"),
        col("msdyn_contractorganizationalunitid", "guid"),
        col("transactioncurrencyid", "guid"),
        col("totalamount", AMOUNT),
        col("requestdeliveryby", "date"),
        col("msdyn_salestaxgroup", "text", comment="mastered in the accounting system"),
        col("msdyn_financialdimensions", "text", comment="mastered in the accounting system"),
        *std_op(),
    ], ["salesorderid"]),

    table("salesorderdetails", "Project contract lines.", [
        col("salesorderdetailid", "guid", null=False),
        col("salesorderid", "guid", null=False),
        col("msdyn_company", "text", null=False, comment="legal-entity code (the contract's)"),
        col("productdescription", "text", comment="name of the contract line"),
        col("msdyn_project", "guid"),
        col("msdyn_billingmethod", "int", comment="192350000 Time and material, 192350001 Fixed price"),
        col("msdyn_includetime", "bool", null=False, default=False),
        col("msdyn_includeexpense", "bool", null=False, default=False),
        col("msdyn_includematerial", "bool", null=False, default=False),
        col("msdyn_includefee", "bool", null=False, default=False),
        col("extendedamount", AMOUNT),
        col("transactioncurrencyid", "guid"),
        col("msdyn_financialdimensions", "text", comment="mastered in the accounting system"),
        *std_op(state=False),
    ], ["salesorderdetailid"],
        fks=[fk(["salesorderid"], "salesorders", ["salesorderid"], "CASCADE")],
        indexes=[["salesorderid"]]),

    table("msdyn_projectcontractsplitbillingrules",
          "Project contract customers (funding sources) and their split-billing share.", [
        col("msdyn_projectcontractsplitbillingruleid", "guid", null=False),
        col("msdyn_projectcontract", "guid", null=False),
        col("msdyn_company", "text", null=False),
        col("msdyn_name", "text"),
        col("msdyn_customer", "guid"),
        col("msdyn_allocation", PERCENT, comment="split-billing percentage; mastered here, never synced"),
        *std_op(),
    ], ["msdyn_projectcontractsplitbillingruleid"],
        fks=[fk(["msdyn_projectcontract"], "salesorders", ["salesorderid"], "CASCADE")],
        indexes=[["msdyn_projectcontract"]]),

    table("msdyn_contractlinescheduleofvalues", "Billing milestones of fixed-price contract lines.", [
        col("msdyn_contractlinescheduleofvalueid", "guid", null=False),
        col("msdyn_contractline", "guid", null=False),
        col("msdyn_company", "text", null=False),
        col("msdyn_name", "text"),
        col("msdyn_milestonedate", "date"),
        col("msdyn_amount", AMOUNT),
        col("msdyn_invoicestatus", "int",
            comment="192350000 Not ready for invoicing, 192350001 Ready for invoicing, 192350002 Customer invoice created, 192350003 Customer invoice posted"),
        col("transactioncurrencyid", "guid"),
        *std_op(),
    ], ["msdyn_contractlinescheduleofvalueid"],
        fks=[fk(["msdyn_contractline"], "salesorderdetails", ["salesorderdetailid"], "CASCADE")],
        indexes=[["msdyn_contractline"]]),

    table("msdyn_projects", "Projects.", [
        col("msdyn_projectid", "guid", null=False),
        col("msdyn_company", "text", null=False, comment="legal-entity code of the project"),
        col("msdyn_subject", "text", comment="project name"),
        col("msdyn_description", "text"),
        col("msdyn_customer", "guid"),
        col("msdyn_contractorganizationalunitid", "guid"),
        col("msdyn_scheduledstart", "date"),
        col("msdyn_finish", "date"),
        col("transactioncurrencyid", "guid"),
        col("msdyn_salestaxgroup", "text", comment="mastered in the accounting system"),
        col("msdyn_financialdimensions", "text", comment="mastered in the accounting system"),
        *std_op(),
    ], ["msdyn_projectid"]),

    table("msdyn_projecttasks", "Project tasks; a tree through msdyn_parenttask.", [
        col("msdyn_projecttaskid", "guid", null=False),
        col("msdyn_project", "guid", null=False),
        col("msdyn_parenttask", "guid"),
        col("msdyn_company", "text", null=False),
        col("msdyn_subject", "text"),
        col("msdyn_wbsid", "text", comment="outline number, e.g. 1.2.3"),
        col("msdyn_scheduledstart", "date"),
        col("msdyn_scheduledend", "date"),
        col("msdyn_effort", QTY, comment="hours"),
        *std_op(),
    ], ["msdyn_projecttaskid"],
        fks=[fk(["msdyn_project"], "msdyn_projects", ["msdyn_projectid"], "CASCADE"),
             fk(["msdyn_parenttask"], "msdyn_projecttasks", ["msdyn_projecttaskid"], "CASCADE")],
        indexes=[["msdyn_project"], ["msdyn_parenttask"]]),

    table("bookableresourcecategories", "Resource roles (not company-specific).", [
        col("bookableresourcecategoryid", "guid", null=False),
        col("name", "text"),
        col("description", "text"),
        *std_op(),
    ], ["bookableresourcecategoryid"]),

    table("msdyn_transactioncategories", "Transaction categories (not company-specific).", [
        col("msdyn_transactioncategoryid", "guid", null=False),
        col("msdyn_name", "text"),
        col("msdyn_description", "text"),
        *std_op(),
    ], ["msdyn_transactioncategoryid"]),

    table("msdyn_resourceassignments", "Resource assignments: labor (hour) estimates.", [
        col("msdyn_resourceassignmentid", "guid", null=False),
        col("msdyn_projectid", "guid", null=False),
        col("msdyn_taskid", "guid"),
        col("msdyn_company", "text", null=False),
        col("msdyn_bookableresourceid", "guid", comment="named or generic resource; resources are not synced"),
        col("msdyn_name", "text"),
        col("msdyn_hours", QTY),
        col("msdyn_start", "date"),
        col("msdyn_finish", "date"),
        col("msdyn_plannedcost", AMOUNT),
        col("msdyn_plannedsales", AMOUNT),
        col("transactioncurrencyid", "guid"),
        *std_op(),
    ], ["msdyn_resourceassignmentid"],
        fks=[fk(["msdyn_projectid"], "msdyn_projects", ["msdyn_projectid"], "CASCADE"),
             fk(["msdyn_taskid"], "msdyn_projecttasks", ["msdyn_projecttaskid"], "CASCADE")],
        indexes=[["msdyn_projectid"], ["msdyn_taskid"]]),

    table("msdyn_estimatelines",
          "Expense and material estimate lines; cost and sales estimates are separate rows.", [
        col("msdyn_estimatelineid", "guid", null=False),
        col("msdyn_project", "guid", null=False),
        col("msdyn_task", "guid"),
        col("msdyn_company", "text", null=False),
        col("msdyn_description", "text"),
        col("msdyn_transactionclassification", "int", null=False,
            comment="192350001 Expense, 192350002 Material (see msdyn_actuals)"),
        col("msdyn_transactiontypecode", "int", comment="192350000 Cost, 192350005 Unbilled Sales"),
        col("msdyn_transactioncategory", "guid"),
        col("msdyn_product", "guid", comment="material estimates: the product"),
        col("msdyn_billingtype", "int"),
        col("msdyn_startdate", "date"),
        col("msdyn_enddate", "date"),
        col("msdyn_quantity", QTY),
        col("msdyn_price", PRICE),
        col("msdyn_amount", AMOUNT),
        col("transactioncurrencyid", "guid"),
        *std_op(),
    ], ["msdyn_estimatelineid"],
        fks=[fk(["msdyn_project"], "msdyn_projects", ["msdyn_projectid"], "CASCADE"),
             fk(["msdyn_task"], "msdyn_projecttasks", ["msdyn_projecttaskid"], "CASCADE")],
        indexes=[["msdyn_project"], ["msdyn_transactionclassification"]]),

    table("msdyn_actuals",
          "Project actuals: cost and revenue transactions. Immutable once created, except the\n"
          "accounting attributes written back after posting. No foreign keys: an actual keeps\n"
          "its references even when the referenced records change.", [
        col("msdyn_actualid", "guid", null=False),
        col("msdyn_company", "text", null=False, comment="legal-entity code of the project"),
        col("msdyn_description", "text"),
        col("msdyn_externaldescription", "text"),
        col("msdyn_documentdate", "date"),
        col("msdyn_startdatetime", "datetime"),
        col("msdyn_enddatetime", "datetime"),
        col("msdyn_accountingdate", "date"),
        col("msdyn_quantity", QTY),
        col("msdyn_price", PRICE),
        col("msdyn_amount", AMOUNT),
        col("msdyn_amountmethod", "int",
            comment="192350000 Multiply quantity by price, 192350001 Fixed price"),
        col("transactioncurrencyid", "guid"),
        col("exchangerate", RATE, comment="operational rate to the base currency; not synced"),
        col("msdyn_billingtype", "int",
            comment="192350000 Non chargeable, 192350001 Chargeable, 192350002 Complimentary, 192350003 Not available"),
        col("msdyn_billingstatus", "int",
            comment="192350000 Unbilled sales created, 192350001 Customer invoice created, 192350002 Customer invoice posted, 192350003 Canceled, 192350004 Ready to invoice"),
        col("msdyn_transactionclassification", "int", null=False,
            comment="192350000 Time, 192350001 Expense, 192350002 Material, 192350003 Milestone, 192350004 Fee, 690970002 Tax"),
        col("msdyn_transactiontypecode", "int", null=False,
            comment="192350000 Cost, 192350004 Project contract, 192350005 Unbilled sales, 192350006 Billed sales, 192350007 Resourcing unit cost, 192350008 Inter-organizational sales"),
        col("msdyn_project", "guid"),
        col("msdyn_task", "guid"),
        col("msdyn_transactioncategory", "guid"),
        col("msdyn_resourcecategory", "guid", comment="role"),
        col("msdyn_bookableresource", "guid"),
        col("msdyn_salescontract", "guid"),
        col("msdyn_salescontractlineid", "guid"),
        col("msdyn_contractorganizationalunitid", "guid"),
        col("msdyn_resourceorganizationalunitid", "guid"),
        col("msdyn_accountcustomer", "guid", comment="contract line customer"),
        col("msdyn_unit", "guid", comment="unit of measure"),
        col("msdyn_skipsync", "bool", null=False, default=False,
            comment="Skip Sync (internal use only): true for intercompany cost and negative unbilled sales"),
        col("msdyn_accountingamount", AMOUNT, comment="written back: amount in accounting currency"),
        col("msdyn_accountingexchangerate", RATE, comment="written back: exchange rate used at posting"),
        col("msdyn_vouchernumber", "text", comment="written back: voucher"),
        col("msdyn_salestaxamount", AMOUNT, comment="written back: sales tax amount"),
        *std_op(),
    ], ["msdyn_actualid"],
        indexes=[["msdyn_project"], ["msdyn_company", "msdyn_accountingdate"]]),

    table("msdyn_transactionconnections",
          "Links between two transactions (cost <-> unbilled sales, unbilled <-> billed sales).", [
        col("msdyn_transactionconnectionid", "guid", null=False),
        col("msdyn_transaction1", "guid", null=False),
        col("msdyn_transaction1role", "int", comment="transaction type code of transaction 1 (msdyn_transactiontypecode values)"),
        col("msdyn_transaction1type", "text", comment="entity of transaction 1, e.g. msdyn_actual"),
        col("msdyn_transaction2", "guid", null=False),
        col("msdyn_transaction2role", "int", comment="transaction type code of transaction 2"),
        col("msdyn_transaction2type", "text", comment="entity of transaction 2, e.g. msdyn_actual"),
        *std_op(),
    ], ["msdyn_transactionconnectionid"],
        indexes=[["msdyn_transaction1"], ["msdyn_transaction2"]]),
]

# ----------------------------------------------------------------------------------------------
# Accounting store (finance-and-operations-like): PascalCase names, DataAreaId company keys.
# ----------------------------------------------------------------------------------------------
DATAAREA = lambda: col("DataAreaId", "text", null=False, comment="legal entity")
STAGE_AREA = lambda: col("ProjectDataAreaId", "text", null=False, comment="legal entity of the project")
IS_PROCESSED = lambda: col("IsProcessed", "bool", null=False, default=False,
                           comment="set by the accounting processes; never written by the sync")

ACCOUNTING = [
    # -- setup -----------------------------------------------------------------------------
    table("CompanyInfo", "Legal entities. Fan-out per company covers the ones in integration scope.", [
        DATAAREA(),
        col("Name", "text"),
        col("AccountingCurrency", "text", null=False),
        col("ReportingCurrency", "text"),
        col("InIntegrationScope", "bool", null=False, default=True,
            comment="included in the dual-write scope (fan-out per company)"),
    ], ["DataAreaId"]),

    table("Currency", "Currencies with their rounding precision.", [
        col("CurrencyCode", "text", null=False),
        col("Name", "text"),
        col("Precision", "int", null=False, default=2, comment="decimals amounts are rounded to"),
        col("TransactionCurrencyId", "guid", unique=True,
            comment="the operational transactioncurrencyid of this currency (prerequisite setup);\n"
                    "resolves the currency GUIDs the synced entities carry"),
    ], ["CurrencyCode"]),

    table("ExchangeRate", "Currency exchange rates: 1 FromCurrencyCode = Rate ToCurrencyCode.", [
        col("FromCurrencyCode", "text", null=False),
        col("ToCurrencyCode", "text", null=False),
        col("ValidFrom", "date", null=False),
        col("ValidTo", "date", comment="inclusive; null = open-ended"),
        col("Rate", RATE, null=False),
    ], ["FromCurrencyCode", "ToCurrencyCode", "ValidFrom"]),

    table("LedgerFiscalPeriod", "Ledger periods per legal entity.", [
        DATAAREA(),
        col("StartDate", "date", null=False),
        col("EndDate", "date", null=False),
        col("Name", "text"),
        col("Status", "text", null=False, default="Open", check=enum("Open", "Closed")),
    ], ["DataAreaId", "StartDate"]),

    table("NumberSequenceTable", "Number sequences (vouchers, journal ids, transaction ids).", [
        DATAAREA(),
        col("NumberSequenceCode", "text", null=False),
        col("Format", "text", null=False, comment="# marks digits, e.g. PJV-######"),
        col("NextNumber", "bigint", null=False, default=1),
        col("Highest", "bigint", comment="null = unbounded"),
    ], ["DataAreaId", "NumberSequenceCode"]),

    table("ProjParameters", "Project management and accounting parameters per legal entity.", [
        DATAAREA(),
        col("IntegrationJournalPeriodUnit", "text", null=False, default="Days",
            check=enum("Days", "Months", "Years", "All"),
            comment="grouping of actuals into integration journals"),
        col("AutoSetAccountingDateToOpenPeriod", "bool", null=False, default=False,
            comment="move an accounting date in a closed period to the first date of the next open one"),
        col("DefaultProjectCategoryId", "text",
            comment="project category for actuals without a transaction category"),
        col("VoucherNumberSequenceCode", "text"),
        col("JournalNumberSequenceCode", "text"),
        col("TransIdNumberSequenceCode", "text"),
        col("TransferLinesWithPostingErrors", "bool", null=False, default=True,
            comment="post the valid lines and move lines with errors to a new journal"),
        col("BatchPostingLineThreshold", "bigint", null=False, default=100,
            comment="journals with more lines post in batch"),
        col("PostingParallelTasks", "bigint", null=False, default=1),
    ], ["DataAreaId"]),

    table("ProjLineProperty", "Line properties.", [
        DATAAREA(),
        col("LinePropertyId", "text", null=False),
        col("Name", "text"),
        col("ToBeInvoiced", "bool", null=False, default=True),
    ], ["DataAreaId", "LinePropertyId"]),

    table("ProjCDSLinePropertyMapping", "Billing type -> line property, per legal entity.", [
        DATAAREA(),
        col("BillingType", "text", null=False,
            check=enum("NotSpecified", "Chargeable", "NonChargeable", "Complimentary", "NotAvailable"),
            comment="NotSpecified applies to actuals without a billing type"),
        col("LinePropertyId", "text", null=False),
    ], ["DataAreaId", "BillingType"]),

    table("ProjLedgerPostingSetup",
          "Ledger accounts used when posting, per legal entity, transaction type and class\n"
          "(TransactionClassification 'All' is the fallback).", [
        DATAAREA(),
        col("TransType", "text", null=False),
        col("TransactionClassification", "text", null=False, default="All"),
        col("DebitMainAccount", "text", null=False),
        col("CreditMainAccount", "text", null=False),
    ], ["DataAreaId", "TransType", "TransactionClassification"]),

    # -- synced entities ---------------------------------------------------------------------
    table("ProjCDSProjectContractEntity", "Project contracts (map project-contracts).", [
        DATAAREA(),
        col("ContractId", "guid", null=False, comment="= operational salesorderid"),
        col("ContractNumber", "text"),
        col("ContractName", "text"),
        col("CustomerId", "guid"),
        col("ContractingUnit", "guid"),
        col("TransactionCurrencyId", "guid"),
        col("ContractAmount", AMOUNT),
        col("RequestedDeliveryDate", "date"),
        col("SalesTaxGroup", "text", comment="mastered here"),
        col("DefaultDimensionDisplayValue", "text", comment="mastered here"),
    ], ["DataAreaId", "ContractId"]),

    table("ProjCDSFundingSourceEntity", "Project funding sources (map funding-sources).", [
        DATAAREA(),
        col("FundingSourceId", "guid", null=False,
            comment="= operational msdyn_projectcontractsplitbillingruleid"),
        col("ContractId", "guid"),
        col("CustomerId", "guid"),
        col("Name", "text"),
        col("FundingType", "text", check=enum("Customer", "Grant", "Organization")),
    ], ["DataAreaId", "FundingSourceId"]),

    table("ProjCDSContractLineImportEntity", "Project contract billing rules (map contract-lines).", [
        DATAAREA(),
        col("ContractLine", "guid", null=False, comment="= operational salesorderdetailid"),
        col("ContractId", "guid"),
        col("ProjectId", "guid"),
        col("Description", "text"),
        col("BillingRuleType", "text", check=enum("TimeAndMaterial", "Milestone")),
        col("LineAmount", AMOUNT),
        col("IncludeTime", "bool"),
        col("IncludeExpense", "bool"),
        col("IncludeMaterial", "bool"),
        col("IncludeFee", "bool"),
        col("TransactionCurrencyId", "guid"),
        col("DefaultDimensionDisplayValue", "text", comment="mastered here"),
    ], ["DataAreaId", "ContractLine"]),

    table("ProjCDSContractLineMilestoneEntity",
          "On-account transactions from billing milestones (map contract-line-milestones).", [
        DATAAREA(),
        col("MilestoneId", "guid", null=False, comment="= operational msdyn_contractlinescheduleofvalueid"),
        col("ContractLine", "guid"),
        col("Description", "text"),
        col("MilestoneDate", "date"),
        col("Amount", AMOUNT),
        col("TransactionCurrencyId", "guid"),
        col("InvoiceStatus", "text"),
        col("SalesTaxGroup", "text", comment="accounting attribute, maintained here"),
        col("DefaultDimensionDisplayValue", "text", comment="accounting attribute, maintained here"),
    ], ["DataAreaId", "MilestoneId"]),

    table("ProjFixedPriceRevenueEstimateProject",
          "Fixed-price revenue estimate projects: created with the first milestone of a contract line.", [
        DATAAREA(),
        col("ContractLine", "guid", null=False),
        col("ProjectId", "guid"),
        col("FirstMilestoneId", "guid"),
        col("CreatedDateTime", "datetime", null=False, default="now"),
    ], ["DataAreaId", "ContractLine"]),

    table("ProjCDSProjectEntity", "Projects (map projects).", [
        DATAAREA(),
        col("ProjectId", "guid", null=False, comment="= operational msdyn_projectid"),
        col("ProjectName", "text"),
        col("Description", "text"),
        col("CustomerId", "guid"),
        col("ContractingUnit", "guid"),
        col("ProjectedStartDate", "date"),
        col("ProjectedEndDate", "date"),
        col("ProjectStatus", "text"),
        col("SalesTaxGroup", "text", comment="mastered here"),
        col("DefaultDimensionDisplayValue", "text", comment="mastered here"),
    ], ["DataAreaId", "ProjectId"]),

    table("ProjCDSTaskEntity", "Project tasks, for reference (map project-tasks).", [
        DATAAREA(),
        col("TaskId", "guid", null=False, comment="= operational msdyn_projecttaskid"),
        col("ProjectId", "guid"),
        col("ParentTaskId", "guid"),
        col("TaskName", "text"),
        col("WbsId", "text"),
        col("StartDate", "date"),
        col("EndDate", "date"),
        col("EffortHours", QTY),
    ], ["DataAreaId", "TaskId"], indexes=[["DataAreaId", "ProjectId"]]),

    table("ProjCDSResourceCategoryEntity",
          "Company-specific resource roles: one row per role and legal entity (map resource-roles).", [
        DATAAREA(),
        col("RoleId", "guid", null=False, comment="= operational bookableresourcecategoryid"),
        col("Name", "text"),
        col("Description", "text"),
    ], ["DataAreaId", "RoleId"]),

    table("ProjCDSCategoryEntity",
          "Shared categories: four per transaction category, one per transaction type\n"
          "(map transaction-categories).", [
        col("CategoryId", "guid", null=False, comment="= operational msdyn_transactioncategoryid"),
        col("TransactionType", "text", null=False, check=enum("Hour", "Expense", "Item", "Fee")),
        col("CategoryName", "text"),
        col("Description", "text"),
    ], ["CategoryId", "TransactionType"]),

    table("ProjCategory",
          "Project categories per legal entity, created by the accountant on top of a shared category.", [
        DATAAREA(),
        col("CategoryId", "text", null=False, comment="project category id, e.g. Travel"),
        col("Name", "text"),
        col("SharedCategoryId", "guid", comment="ProjCDSCategoryEntity.CategoryId"),
        col("TransactionType", "text", check=enum("Hour", "Expense", "Item", "Fee")),
    ], ["DataAreaId", "CategoryId"],
        uniques=[["DataAreaId", "SharedCategoryId", "TransactionType"]]),

    # -- staging tables -----------------------------------------------------------------------
    table("ProjCDSActualsImport",
          "Staging for project actuals (map actuals). The import from staging turns unprocessed rows\n"
          "into integration journal lines; posting writes the four accounting attributes back here.\n"
          "No foreign keys and no checks: a staging row is never rejected.", [
        STAGE_AREA(),
        col("ActualId", "guid", null=False, comment="= operational msdyn_actualid"),
        col("ProjectId", "guid"),
        col("TaskId", "guid"),
        col("TransactionClassification", "text"),
        col("TransType", "text"),
        col("TransactionCategory", "guid", comment="shared category id (ProjCDSCategoryEntity.CategoryId)"),
        col("ResourceId", "guid"),
        col("ResourceCategory", "guid", comment="role"),
        col("BillingType", "text"),
        col("ContractId", "guid"),
        col("ContractLine", "guid"),
        col("Quantity", QTY),
        col("UnitPrice", PRICE),
        col("Amount", AMOUNT),
        col("AmountMethod", "text"),
        col("TransactionCurrencyId", "guid"),
        col("DocumentDate", "date"),
        col("StartDate", "datetime"),
        col("EndDate", "datetime"),
        col("AccountingDate", "date"),
        col("Description", "text"),
        col("ExternalDescription", "text"),
        col("ContractingUnit", "guid"),
        col("ResourceOperationUnitId", "guid"),
        col("CustomerId", "guid"),
        col("UnitOfMeasure", "guid"),
        IS_PROCESSED(),
        col("AccountingAmount", AMOUNT, comment="written at posting, synced back"),
        col("ExchangeRate", RATE, comment="written at posting, synced back"),
        col("VoucherNumber", "text", comment="written at posting, synced back"),
        col("SalesTaxAmount", AMOUNT, comment="written at posting, synced back"),
    ], ["ProjectDataAreaId", "ActualId"], indexes=[["ProjectDataAreaId", "IsProcessed"]]),

    table("ProjCDSEstimateHoursImport", "Staging for hour estimates (map hour-estimates), -> ProjForecastEmpl.", [
        STAGE_AREA(),
        col("ResourceAssignmentId", "guid", null=False, comment="= operational msdyn_resourceassignmentid"),
        col("ProjectId", "guid"),
        col("TaskId", "guid"),
        col("ResourceId", "guid"),
        col("Hours", QTY),
        col("StartDate", "date"),
        col("EndDate", "date"),
        col("CostAmount", AMOUNT),
        col("SalesAmount", AMOUNT),
        col("TransactionCurrencyId", "guid"),
        IS_PROCESSED(),
    ], ["ProjectDataAreaId", "ResourceAssignmentId"]),

    table("ProjCDSEstimateExpenseImport",
          "Staging for expense estimates (map expense-estimates), -> ProjForecastCost.\n"
          "Cost and sales estimate lines arrive as separate rows.", [
        STAGE_AREA(),
        col("EstimateLineId", "guid", null=False, comment="= operational msdyn_estimatelineid"),
        col("ProjectId", "guid"),
        col("TaskId", "guid"),
        col("TransactionCategory", "guid"),
        col("TransType", "text", comment="Cost or UnbilledSales"),
        col("BillingType", "text"),
        col("StartDate", "date"),
        col("EndDate", "date"),
        col("Quantity", QTY),
        col("UnitPrice", PRICE),
        col("Amount", AMOUNT),
        col("TransactionCurrencyId", "guid"),
        col("Description", "text"),
        IS_PROCESSED(),
    ], ["ProjectDataAreaId", "EstimateLineId"]),

    table("ProjForecastSalesImport",
          "Staging for material estimates (map material-estimates), -> ForecastSales.\n"
          "Cost and sales estimate lines arrive as separate rows.", [
        STAGE_AREA(),
        col("EstimateLineId", "guid", null=False, comment="= operational msdyn_estimatelineid"),
        col("ProjectId", "guid"),
        col("TaskId", "guid"),
        col("ProductId", "guid"),
        col("TransactionCategory", "guid"),
        col("TransType", "text", comment="Cost or UnbilledSales"),
        col("BillingType", "text"),
        col("StartDate", "date"),
        col("EndDate", "date"),
        col("Quantity", QTY),
        col("UnitPrice", PRICE),
        col("Amount", AMOUNT),
        col("TransactionCurrencyId", "guid"),
        col("Description", "text"),
        IS_PROCESSED(),
    ], ["ProjectDataAreaId", "EstimateLineId"]),

    table("ProjCDSTransactionRelationshipImport",
          "Staging for links between actuals (map transaction-connections). Shared: the two\n"
          "actuals may belong to different legal entities.", [
        col("ConnectionId", "guid", null=False, comment="= operational msdyn_transactionconnectionid"),
        col("Transaction1Id", "guid", comment="ActualId of transaction 1"),
        col("Transaction1Role", "text", comment="transaction type of transaction 1"),
        col("Transaction1Type", "text"),
        col("Transaction2Id", "guid", comment="ActualId of transaction 2"),
        col("Transaction2Role", "text"),
        col("Transaction2Type", "text"),
        IS_PROCESSED(),
    ], ["ConnectionId"], indexes=[["Transaction1Id"], ["Transaction2Id"]]),

    # -- forecasts ------------------------------------------------------------------------------
    table("ProjForecastEmpl", "Hour forecasts, maintained from ProjCDSEstimateHoursImport.", [
        DATAAREA(),
        col("TransId", "text", null=False),
        col("ResourceAssignmentId", "guid", comment="source staging row"),
        col("ProjectId", "guid"),
        col("TaskId", "guid"),
        col("ResourceId", "guid"),
        col("SchedFromDate", "date"),
        col("SchedToDate", "date"),
        col("Hours", QTY),
        col("CostAmount", AMOUNT),
        col("SalesAmount", AMOUNT),
        col("CurrencyCode", "text"),
        col("ForecastModelId", "text"),
        col("ModifiedDateTime", "datetime", null=False, default="now"),
    ], ["DataAreaId", "TransId"], uniques=[["DataAreaId", "ResourceAssignmentId"]]),

    table("ProjForecastCost",
          "Expense forecasts: ONE row merging the cost and the sales estimate line.", [
        DATAAREA(),
        col("TransId", "text", null=False),
        col("CostEstimateLineId", "guid"),
        col("SalesEstimateLineId", "guid"),
        col("ProjectId", "guid"),
        col("TaskId", "guid"),
        col("CategoryId", "text", comment="project category in this legal entity"),
        col("SharedCategoryId", "guid"),
        col("SchedFromDate", "date"),
        col("SchedToDate", "date"),
        col("Quantity", QTY),
        col("CostPrice", PRICE),
        col("CostAmount", AMOUNT),
        col("SalesPrice", PRICE),
        col("SalesAmount", AMOUNT),
        col("CurrencyCode", "text"),
        col("Description", "text"),
        col("ForecastModelId", "text"),
        col("ModifiedDateTime", "datetime", null=False, default="now"),
    ], ["DataAreaId", "TransId"]),

    table("ForecastSales",
          "Item forecasts: ONE row merging the cost and the sales material estimate line.", [
        DATAAREA(),
        col("TransId", "text", null=False),
        col("CostEstimateLineId", "guid"),
        col("SalesEstimateLineId", "guid"),
        col("ProjectId", "guid"),
        col("TaskId", "guid"),
        col("ProductId", "guid"),
        col("CategoryId", "text"),
        col("StartDate", "date"),
        col("EndDate", "date"),
        col("Quantity", QTY),
        col("CostPrice", PRICE),
        col("CostAmount", AMOUNT),
        col("SalesPrice", PRICE),
        col("SalesAmount", AMOUNT),
        col("CurrencyCode", "text"),
        col("Description", "text"),
        col("ForecastModelId", "text"),
        col("ModifiedDateTime", "datetime", null=False, default="now"),
    ], ["DataAreaId", "TransId"]),

    # -- integration journal, subledger, ledger -----------------------------------------------
    table("ProjCDSIntegrationJournal", "Project Operations integration journals (headers).", [
        DATAAREA(),
        col("JournalId", "text", null=False),
        col("Description", "text"),
        col("PeriodUnit", "text", null=False, check=enum("Days", "Months", "Years", "All")),
        col("PeriodKey", "text", null=False,
            comment="the group: 2024-01-31 (Days), 2024-01 (Months), 2024 (Years), All"),
        col("Status", "text", null=False, default="Open", check=enum("Open", "Posting", "Posted")),
        col("OriginalJournalId", "text", comment="source journal of lines moved here after posting errors"),
        col("CreatedDateTime", "datetime", null=False, default="now"),
        col("PostedDateTime", "datetime"),
    ], ["DataAreaId", "JournalId"], indexes=[["DataAreaId", "PeriodKey", "Status"]]),

    table("ProjCDSIntegrationJournalLine", "Integration journal lines: one per actual.", [
        DATAAREA(),
        col("JournalId", "text", null=False),
        col("LineNum", "bigint", null=False),
        col("ActualId", "guid", null=False),
        col("ProjectId", "guid"),
        col("TaskId", "guid"),
        col("ContractId", "guid"),
        col("ContractLine", "guid"),
        col("TransDate", "date", comment="transaction date"),
        col("AccountingDate", "date", comment="ledger date"),
        col("Voucher", "text"),
        col("TransactionClassification", "text"),
        col("TransType", "text"),
        col("ProjectCategoryId", "text"),
        col("LinePropertyId", "text"),
        col("ResourceId", "guid"),
        col("ResourceCategory", "guid"),
        col("Quantity", QTY),
        col("UnitPrice", PRICE),
        col("CurrencyCode", "text"),
        col("ExchangeRate", RATE),
        col("AmountCur", AMOUNT, comment="transaction currency"),
        col("AmountMST", AMOUNT, comment="accounting currency"),
        col("SalesTaxAmount", AMOUNT),
        col("BillingSalesTaxGroup", "text", comment="editable"),
        col("BillingItemSalesTaxGroup", "text", comment="editable"),
        col("DefaultDimensionDisplayValue", "text", comment="editable (distribute amounts)"),
        col("Description", "text"),
        col("ExternalDescription", "text"),
        col("Status", "text", null=False, default="Draft",
            check=enum("Draft", "Error", "Processing", "Posted", "Unrecoverable", "InvalidActuals")),
        col("ErrorMessage", "text"),
        col("PostedDateTime", "datetime"),
    ], ["DataAreaId", "JournalId", "LineNum"],
        fks=[fk(["DataAreaId", "JournalId"], "ProjCDSIntegrationJournal", ["DataAreaId", "JournalId"], "CASCADE")],
        indexes=[["DataAreaId", "ActualId"], ["Voucher"]]),

    table("ProjPostedTransTable", "Posted project transactions (the project subledger).", [
        DATAAREA(),
        col("TransId", "text", null=False),
        col("ActualId", "guid"),
        col("JournalId", "text"),
        col("ProjectId", "guid"),
        col("TaskId", "guid"),
        col("TransactionClassification", "text"),
        col("TransType", "text"),
        col("CategoryId", "text"),
        col("LinePropertyId", "text"),
        col("ResourceId", "guid"),
        col("Voucher", "text"),
        col("TransDate", "date"),
        col("AccountingDate", "date"),
        col("Quantity", QTY),
        col("CurrencyCode", "text"),
        col("ExchangeRate", RATE),
        col("AmountCur", AMOUNT),
        col("AmountMST", AMOUNT),
        col("SalesTaxAmount", AMOUNT),
        col("DefaultDimensionDisplayValue", "text"),
        col("PostedDateTime", "datetime", null=False, default="now"),
    ], ["DataAreaId", "TransId"], indexes=[["DataAreaId", "ActualId"], ["Voucher"]]),

    table("GeneralJournalAccountEntry",
          "General ledger entries. Amounts are signed (debit positive, credit negative);\n"
          "IsCredit tells the side.", [
        col("RecId", "identity", null=False),
        DATAAREA(),
        col("Voucher", "text", null=False),
        col("AccountingDate", "date", null=False),
        col("MainAccount", "text", null=False),
        col("LedgerDimensionDisplayValue", "text"),
        col("PostingType", "text"),
        col("TransactionCurrencyCode", "text", null=False),
        col("TransactionCurrencyAmount", AMOUNT, null=False),
        col("AccountingCurrencyAmount", AMOUNT, null=False),
        col("IsCredit", "bool", null=False),
        col("Text", "text"),
        col("ProjectId", "guid"),
        col("ActualId", "guid"),
        col("CreatedDateTime", "datetime", null=False, default="now"),
    ], ["RecId"], indexes=[["DataAreaId", "Voucher"]]),

    table("ProjPostedTransRelationship",
          "Posted transaction relationships (related vouchers), from ProjCDSTransactionRelationshipImport.", [
        col("ConnectionId", "guid", null=False),
        col("Transaction1Id", "guid"),
        col("Transaction1DataAreaId", "text"),
        col("Transaction1Voucher", "text"),
        col("Transaction1Role", "text"),
        col("Transaction2Id", "guid"),
        col("Transaction2DataAreaId", "text"),
        col("Transaction2Voucher", "text"),
        col("Transaction2Role", "text"),
        col("PostedDateTime", "datetime", null=False, default="now"),
    ], ["ConnectionId"]),
]


# Migration 0002 of the accounting store: the job log of the accounting processes.
ACCOUNTING_0002 = [
    table("ProjCDSJobLog",
          "One row per run of an accounting process (import from staging, posting, forecasts),\n"
          "with its counts; its errors are ProjCDSJobLogLine rows.", [
        col("RecId", "identity", null=False),
        col("JobName", "text", null=False, check=enum("ImportFromStaging", "Post", "Forecasts")),
        col("DataAreaId", "text", comment="legal entity, or null for a run over all of them"),
        col("StartedDateTime", "datetime", null=False),
        col("FinishedDateTime", "datetime"),
        col("Status", "text", null=False, default="Running",
            check=enum("Running", "Succeeded", "Warning", "Failed")),
        col("Counts", "text", comment="JSON object of counters, e.g. {\"lines\": 12, \"journals\": 2}"),
        col("Message", "text"),
    ], ["RecId"], indexes=[["JobName", "StartedDateTime"]]),

    table("ProjCDSJobLogLine", "An error or warning of one process run, naming the record.", [
        col("RecId", "identity", null=False),
        col("JobRecId", "bigint", null=False),
        col("DataAreaId", "text"),
        col("RecordId", "guid", comment="the actual (or estimate) concerned"),
        col("JournalId", "text"),
        col("Message", "text", null=False),
    ], ["RecId"], indexes=[["JobRecId"], ["RecordId"]]),
]


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


# Migration 0002 of the operational store: proforma invoices, and the invoice of a billed sales
# actual.
OPERATIONAL_0002 = [
    table("invoices",
          "Proforma invoices (Dataverse invoice). Confirming one creates its billed sales actuals;\n"
          "the project-invoice-proposals map sends the confirmed header to the accounting side,\n"
          "and posting the invoice proposal there writes the customer invoice back here.", [
        col("invoiceid", "guid", null=False),
        col("invoicenumber", "text", comment="Proforma invoice ID; the invoice proposal takes it as its number"),
        col("name", "text"),
        col("msdyn_company", "text", null=False, comment="legal-entity code of the contract"),
        col("salesorderid", "guid", comment="the project contract"),
        col("customerid", "guid"),
        col("transactioncurrencyid", "guid"),
        col("msdyn_invoicedate", "date"),
        col("msdyn_invoicestatus", "int", null=False, default=192350000,
            comment="192350000 Draft, 192350001 Confirmed, 192350002 Posted (the reference store's codes)"),
        col("totalamount", AMOUNT, comment="sum of the invoice lines, before tax"),
        col("totaltax", AMOUNT, comment="written back: invoice-level sales tax amount"),
        col("msdyn_customerinvoicenumber", "text", comment="written back: the posted customer invoice"),
        col("msdyn_customerinvoicedate", "date", comment="written back: the customer invoice date"),
        *std_op(),
    ], ["invoiceid"], indexes=[["msdyn_company", "msdyn_invoicestatus"]]),
]


# Migration 0003 of the operational store: expense categories, expenses and project vendor
# invoices arriving from the accounting side (read-only here but for their approval), and the
# source document of an actual.
APPROVAL = lambda: col("msdyn_approvalstatus", "int", null=False, default=192350000,
                       comment="192350000 Pending approval, 192350001 Approved (the reference store's codes);\n"
                               "approving creates the cost actual")
OPERATIONAL_0003 = [
    table("msdyn_expensecategories",
          "Expense categories of each legal entity, maintained on the accounting side and synced\n"
          "here (map expense-categories); each is tied to its transaction category.", [
        col("msdyn_expensecategoryid", "guid", null=False),
        col("msdyn_name", "text", null=False, comment="the category code (accounting CostType), e.g. Hotel"),
        col("msdyn_company", "text", null=False, comment="legal-entity code"),
        col("msdyn_description", "text"),
        col("msdyn_transactioncategory", "guid", comment="the transaction category (its Expense shared category)"),
        col("msdyn_expensetype", "text", comment="expense type of the accounting side, e.g. Hotel, Transport"),
        *std_op(),
    ], ["msdyn_expensecategoryid"], uniques=[["msdyn_company", "msdyn_name"]]),

    table("msdyn_expenses",
          "Project expense report lines posted on the accounting side (map project-expenses).\n"
          "Approving one creates its Expense cost actual.", [
        col("msdyn_expenseid", "guid", null=False),
        col("msdyn_name", "text", comment="the expense report number"),
        col("msdyn_company", "text", null=False),
        col("msdyn_project", "guid"),
        col("msdyn_task", "guid"),
        col("msdyn_expensecategory", "guid"),
        col("msdyn_transactioncategory", "guid"),
        col("msdyn_bookableresource", "guid", comment="the worker"),
        col("msdyn_transactiondate", "date"),
        col("msdyn_quantity", QTY),
        col("msdyn_price", PRICE),
        col("msdyn_amount", AMOUNT, comment="project cost: the amount with non-recoverable tax"),
        col("transactioncurrencyid", "guid"),
        col("msdyn_description", "text"),
        APPROVAL(),
        col("msdyn_actual", "guid", comment="the cost actual approval created"),
        *std_op(),
    ], ["msdyn_expenseid"], indexes=[["msdyn_company", "msdyn_approvalstatus"]]),

    table("msdyn_projectvendorinvoices",
          "Project vendor invoices posted on the accounting side (map project-vendor-invoices).", [
        col("msdyn_projectvendorinvoiceid", "guid", null=False),
        col("msdyn_name", "text", comment="the vendor's invoice number"),
        col("msdyn_company", "text", null=False),
        col("msdyn_vendoraccount", "text"),
        col("msdyn_purchaseorder", "text"),
        col("msdyn_invoicedate", "date"),
        col("msdyn_documentdate", "date"),
        col("transactioncurrencyid", "guid"),
        col("msdyn_description", "text"),
        col("msdyn_vendorinvoicestatus", "int",
            comment="192350000 Draft (posted, waiting for the project manager), 192350001 Confirmed"),
        *std_op(),
    ], ["msdyn_projectvendorinvoiceid"]),

    table("msdyn_projectvendorinvoicelines",
          "Project lines of posted vendor invoices (map project-vendor-invoice-lines). Approving\n"
          "one creates its cost actual.", [
        col("msdyn_projectvendorinvoicelineid", "guid", null=False),
        col("msdyn_vendorinvoice", "guid"),
        col("msdyn_externalinvoiceline", "text", comment="the accounting project transaction id (ProjTransId)"),
        col("msdyn_company", "text", null=False),
        col("msdyn_project", "guid"),
        col("msdyn_task", "guid"),
        col("msdyn_transactionclassification", "int", comment="192350001 Expense, 192350002 Material"),
        col("msdyn_transactioncategory", "guid"),
        col("msdyn_product", "text", comment="the item number"),
        col("msdyn_name", "text"),
        col("msdyn_transactiondate", "date"),
        col("msdyn_quantity", QTY),
        col("msdyn_price", PRICE),
        col("msdyn_amount", AMOUNT),
        col("transactioncurrencyid", "guid"),
        APPROVAL(),
        col("msdyn_actual", "guid", comment="the cost actual approval created"),
        *std_op(),
    ], ["msdyn_projectvendorinvoicelineid"], indexes=[["msdyn_company", "msdyn_approvalstatus"]]),
]

# Migration 0005 of the accounting store: expense categories, expense reports and vendor
# invoices, the integration accounts they post to, and the offset account of journal lines.
ACCOUNTING_0005 = [
    table("ProjExpenseCategoriesExport",
          "Expense categories per legal entity (map expense-categories), each on a shared category\n"
          "of type Expense. ExpenseCategoryId is the operational record's GUID.", [
        DATAAREA(),
        col("CostType", "text", null=False, comment="the expense category, e.g. Hotel"),
        col("ExpenseCategoryId", "guid", null=False, default="uuid", unique=True),
        col("CostTxt", "text"),
        col("TransactionCategoryId", "guid", comment="the transaction category (ProjCDSCategoryEntity.CategoryId)"),
        col("ExpType", "text", comment="expense type, e.g. Hotel, Transport, Meals"),
        col("IsInactive", "bool", null=False, default=False),
    ], ["DataAreaId", "CostType"]),

    table("ProjExpenseExportEntity",
          "Project expense report lines. Posting one (Status Draft -> Posted) debits the expense\n"
          "integration account; the map project-expenses exports the posted ones.", [
        DATAAREA(),
        col("ExpenseLineId", "guid", null=False, default="uuid"),
        col("ExpenseNumber", "text", null=False, comment="the expense report"),
        col("Worker", "guid", comment="the bookable resource"),
        col("ProjectId", "guid"),
        col("TaskId", "guid"),
        col("CostType", "text", null=False, comment="the expense category"),
        col("TransDate", "date", null=False),
        col("Quantity", QTY),
        col("Price", PRICE),
        col("Amount", AMOUNT, null=False, comment="project cost, with non-recoverable tax"),
        col("CurrencyCode", "text", null=False),
        col("Description", "text"),
        col("Status", "text", null=False, default="Draft", check=enum("Draft", "Posted")),
        col("ExpenseCategoryId", "guid", comment="set at posting, exported"),
        col("TransactionCategoryId", "guid", comment="set at posting, exported"),
        col("TransactionCurrencyId", "guid", comment="set at posting, exported"),
        col("Voucher", "text"),
        col("PostedDateTime", "datetime"),
    ], ["DataAreaId", "ExpenseLineId"], indexes=[["DataAreaId", "Status"]]),

    table("VendInvoiceExportsV2",
          "Project vendor invoices (headers). Posting one (PostingStatus Pending -> Posted) records\n"
          "the vendor balance against the procurement integration account; the map\n"
          "project-vendor-invoices exports the posted ones.", [
        DATAAREA(),
        col("VendorInvoiceId", "guid", null=False, default="uuid"),
        col("VendorInvoiceNum", "text", null=False),
        col("InvoiceAccount", "text", null=False, comment="the vendor"),
        col("PurchId", "text"),
        col("DocumentDate", "date"),
        col("TransDate", "date", null=False),
        col("CurrencyCode", "text", null=False),
        col("Description", "text"),
        col("PostingStatus", "text", null=False, default="Pending", check=enum("Pending", "Posted")),
        col("ProjVendInvoiceStatus", "text", check=enum("Draft", "Confirmed"),
            comment="Draft once posted; Confirmed by the project manager (synced back)"),
        col("TransactionCurrencyId", "guid", comment="set at posting, exported"),
        col("Voucher", "text"),
        col("PostedDateTime", "datetime"),
    ], ["DataAreaId", "VendorInvoiceId"], uniques=[["DataAreaId", "InvoiceAccount", "VendorInvoiceNum"]]),

    table("ProjVendInvoiceLinesExportEntity",
          "Vendor invoice lines; those with a project are project cost (map\n"
          "project-vendor-invoice-lines).", [
        DATAAREA(),
        col("VendInvoiceLineId", "guid", null=False, default="uuid"),
        col("VendorInvoiceId", "guid", null=False),
        col("LineNum", "bigint", null=False),
        col("ProjTransId", "text", comment="set at posting: the project transaction id"),
        col("ProjId", "guid", comment="the project; lines without one are not project cost"),
        col("ProjTaskId", "guid"),
        col("CategoryType", "text", check=enum("Expense", "Item"), comment="Expense or Item"),
        col("TransactionCategoryId", "guid"),
        col("ItemId", "text"),
        col("Description", "text"),
        col("Quantity", QTY),
        col("PurchPrice", PRICE),
        col("LineAmount", AMOUNT, null=False),
        col("TransDate", "date", comment="set at posting from the header"),
        col("TransactionCurrencyId", "guid", comment="set at posting, exported"),
    ], ["DataAreaId", "VendInvoiceLineId"],
        fks=[fk(["DataAreaId", "VendorInvoiceId"], "VendInvoiceExportsV2", ["DataAreaId", "VendorInvoiceId"], "CASCADE")],
        uniques=[["DataAreaId", "VendorInvoiceId", "LineNum"]]),
]


# Migration 0004 of the operational store: entry journals and the price lists their prices
# default from.
OPERATIONAL_0004 = [
    table("pricelevels",
          "Price lists: cost price lists per legal entity, sales price lists per legal entity or\n"
          "named by a contract (salesorders.pricelevelid).", [
        col("pricelevelid", "guid", null=False),
        col("name", "text"),
        col("msdyn_company", "text", comment="legal-entity code"),
        col("msdyn_context", "int", null=False, comment="192350000 Cost, 192350001 Sales"),
        col("transactioncurrencyid", "guid"),
        col("begindate", "date"),
        col("enddate", "date"),
        *std_op(),
    ], ["pricelevelid"]),

    table("msdyn_resourcecategorypricelevels", "Role prices (time) of a price list, per unit.", [
        col("msdyn_resourcecategorypricelevelid", "guid", null=False),
        col("msdyn_pricelist", "guid", null=False),
        col("msdyn_resourcecategory", "guid", null=False, comment="the role"),
        col("msdyn_unit", "guid", comment="unit of measure (hour); empty: any unit"),
        col("msdyn_price", PRICE, null=False),
    ], ["msdyn_resourcecategorypricelevelid"],
        fks=[fk(["msdyn_pricelist"], "pricelevels", ["pricelevelid"], "CASCADE")]),

    table("msdyn_transactioncategorypricelevels", "Category prices (expenses) of a price list, per unit.", [
        col("msdyn_transactioncategorypricelevelid", "guid", null=False),
        col("msdyn_pricelist", "guid", null=False),
        col("msdyn_transactioncategory", "guid", null=False),
        col("msdyn_unit", "guid", comment="empty: any unit"),
        col("msdyn_price", PRICE, null=False),
    ], ["msdyn_transactioncategorypricelevelid"],
        fks=[fk(["msdyn_pricelist"], "pricelevels", ["pricelevelid"], "CASCADE")]),

    table("productpricelevels", "Product prices (materials) of a price list, per unit.", [
        col("productpricelevelid", "guid", null=False),
        col("pricelevelid", "guid", null=False),
        col("productid", "guid", null=False),
        col("uomid", "guid", comment="empty: any unit"),
        col("amount", PRICE, null=False),
    ], ["productpricelevelid"],
        fks=[fk(["pricelevelid"], "pricelevels", ["pricelevelid"], "CASCADE")]),

    table("msdyn_journals", "Entry journals. Confirming one records each line as an actual and locks it.", [
        col("msdyn_journalid", "guid", null=False),
        col("msdyn_description", "text"),
        col("msdyn_company", "text", null=False, comment="legal-entity code"),
        col("msdyn_journaltype", "int", null=False, default=192350000, comment="192350000 Entry"),
        col("msdyn_journalstatus", "int", null=False, default=192350000,
            comment="192350000 Draft, 192350001 Confirmed (the reference store's codes)"),
        col("msdyn_confirmedon", "datetime"),
        *std_op(),
    ], ["msdyn_journalid"]),

    table("msdyn_journallines", "Entry journal lines: each becomes one actual when the journal is confirmed.", [
        col("msdyn_journallineid", "guid", null=False),
        col("msdyn_journal", "guid", null=False),
        col("msdyn_linenumber", "int"),
        col("msdyn_transactionclassification", "int", null=False,
            comment="192350000 Time, 192350001 Expense, 192350002 Material, 192350003 Milestone,\n"
                    "690970100 Retainer, 690970002 Tax (see msdyn_actuals)"),
        col("msdyn_transactiontypecode", "int", null=False,
            comment="192350000 Cost, 192350005 Unbilled sales, 192350006 Billed sales (192350007 and\n"
                    "192350008 are refused: not available when integrated)"),
        col("msdyn_project", "guid"),
        col("msdyn_task", "guid"),
        col("msdyn_transactioncategory", "guid"),
        col("msdyn_resourcecategory", "guid", comment="role (Time)"),
        col("msdyn_bookableresource", "guid"),
        col("msdyn_product", "guid", comment="Material: the product"),
        col("msdyn_writeinproduct", "text", comment="Material: a write-in product's name"),
        col("msdyn_description", "text"),
        col("msdyn_externaldescription", "text"),
        col("msdyn_billingtype", "int"),
        col("msdyn_documentdate", "date"),
        col("msdyn_startdate", "date"),
        col("msdyn_enddate", "date"),
        col("msdyn_accountingdate", "date"),
        col("msdyn_salescontract", "guid", comment="worked out at confirmation when empty"),
        col("msdyn_salescontractlineid", "guid", comment="worked out at confirmation when empty"),
        col("msdyn_accountcustomer", "guid", comment="contract line customer; worked out when the line has one"),
        col("msdyn_amountmethod", "int", null=False, default=192350000,
            comment="192350000 Multiply quantity by price, 192350001 Fixed price"),
        col("msdyn_unit", "guid"),
        col("msdyn_quantity", QTY),
        col("msdyn_price", PRICE, comment="defaulted from the price lists when empty"),
        col("msdyn_amount", AMOUNT),
        col("msdyn_tax", AMOUNT),
        col("msdyn_extendedamount", AMOUNT, comment="amount + tax, set at confirmation"),
        col("transactioncurrencyid", "guid"),
        col("msdyn_actual", "guid", comment="the actual confirmation created"),
        *std_op(),
    ], ["msdyn_journallineid"],
        fks=[fk(["msdyn_journal"], "msdyn_journals", ["msdyn_journalid"], "CASCADE")],
        indexes=[["msdyn_journal"]]),
]


# Columns later migrations add to existing tables: {migration: {table: [columns]}}.
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


# Migration 0004 of the accounting store: sales tax, project invoice proposals and invoices.
ACCOUNTING_0004 = [
    table("TaxTable", "Sales tax codes per legal entity with their rate and ledger account.", [
        DATAAREA(),
        col("TaxCode", "text", null=False),
        col("Name", "text"),
        col("Rate", "dec(9,4)", null=False, comment="percent, e.g. 8.2500"),
        col("TaxAccount", "text", null=False, comment="main account credited with the tax at invoicing"),
    ], ["DataAreaId", "TaxCode"]),

    table("TaxGroupData", "Sales tax groups: the tax codes of each group (the customer side).", [
        DATAAREA(),
        col("TaxGroup", "text", null=False),
        col("TaxCode", "text", null=False),
    ], ["DataAreaId", "TaxGroup", "TaxCode"]),

    table("TaxOnItem", "Item sales tax groups: the tax codes of each group (the item side). A line is\n"
          "taxed with the codes in both its sales tax group and its item sales tax group.", [
        DATAAREA(),
        col("TaxItemGroup", "text", null=False),
        col("TaxCode", "text", null=False),
    ], ["DataAreaId", "TaxItemGroup", "TaxCode"]),

    table("TaxTrans", "Posted sales tax: one row per invoice line and tax code.", [
        col("RecId", "identity", null=False),
        DATAAREA(),
        col("Voucher", "text", null=False),
        col("TransDate", "date", null=False),
        col("TaxCode", "text", null=False),
        col("TaxGroup", "text"),
        col("TaxItemGroup", "text"),
        col("CurrencyCode", "text", null=False),
        col("SourceBaseAmountCur", AMOUNT, null=False),
        col("SourceTaxAmountCur", AMOUNT, null=False),
        col("TaxAmountMST", AMOUNT, null=False),
        col("ActualId", "guid"),
        col("ProjInvoiceId", "text"),
    ], ["RecId"], indexes=[["DataAreaId", "Voucher"]]),

    table("ProjInvoiceProposalEntity",
          "Confirmed proforma invoices (map project-invoice-proposals). Import from staging makes an\n"
          "invoice proposal of each; posting it writes the customer invoice back here.", [
        DATAAREA(),
        col("ProformaInvoiceId", "guid", null=False, comment="= operational invoiceid"),
        col("InvoiceProposalId", "text", comment="the proforma invoice ID"),
        col("ProjectContractId", "guid"),
        col("CustomerId", "guid"),
        col("InvoiceDate", "date"),
        col("SalesCurrency", "guid", comment="operational currency id (Currency.TransactionCurrencyId)"),
        col("InvoiceHeaderText", "text"),
        IS_PROCESSED(),
        col("Invoice", "text", comment="written at posting, synced back: customer invoice number"),
        col("InvoicePostedDate", "date", comment="written at posting, synced back"),
        col("InvoiceStatus", "text", comment="written at posting, synced back: Posted"),
        col("SumTax", AMOUNT, comment="written at posting, synced back: invoice-level sales tax"),
    ], ["DataAreaId", "ProformaInvoiceId"]),

    table("ProjProposalJour", "Project invoice proposals (headers), numbered with the proforma invoice ID.", [
        DATAAREA(),
        col("ProposalId", "text", null=False),
        col("ProformaInvoiceId", "guid", null=False),
        col("ProjectContractId", "guid"),
        col("CustomerId", "guid"),
        col("InvoiceDate", "date", null=False),
        col("CurrencyCode", "text", null=False),
        col("Status", "text", null=False, default="Created", check=enum("Created", "Posted")),
        col("ProjInvoiceId", "text", comment="the customer invoice, once posted"),
        col("CreatedDateTime", "datetime", null=False, default="now"),
        col("PostedDateTime", "datetime"),
    ], ["DataAreaId", "ProposalId"], uniques=[["DataAreaId", "ProformaInvoiceId"]]),

    table("ProjProposalTrans", "Invoice proposal lines: one per billed sales actual.", [
        DATAAREA(),
        col("ProposalId", "text", null=False),
        col("LineNum", "bigint", null=False),
        col("ActualId", "guid", null=False),
        col("ProjectId", "guid"),
        col("TaskId", "guid"),
        col("ContractLine", "guid"),
        col("TransactionClassification", "text"),
        col("CategoryId", "text"),
        col("LinePropertyId", "text"),
        col("ResourceId", "guid"),
        col("TransDate", "date"),
        col("Quantity", QTY),
        col("SalesPrice", PRICE),
        col("CurrencyCode", "text", null=False),
        col("AmountCur", AMOUNT, null=False),
        col("SalesTaxGroup", "text", comment="editable until posted"),
        col("ItemSalesTaxGroup", "text", comment="editable until posted"),
        col("SalesTaxAmount", AMOUNT),
        col("Description", "text"),
    ], ["DataAreaId", "ProposalId", "LineNum"],
        fks=[fk(["DataAreaId", "ProposalId"], "ProjProposalJour", ["DataAreaId", "ProposalId"], "CASCADE")],
        uniques=[["ActualId", "DataAreaId"]]),

    table("ProjInvoiceJour", "Posted project invoices (customer invoices).", [
        DATAAREA(),
        col("ProjInvoiceId", "text", null=False),
        col("ProposalId", "text", null=False),
        col("ProformaInvoiceId", "guid"),
        col("CustomerId", "guid"),
        col("InvoiceDate", "date", null=False),
        col("CurrencyCode", "text", null=False),
        col("ExchangeRate", RATE, null=False),
        col("SalesAmount", AMOUNT, null=False, comment="lines before tax, transaction currency"),
        col("SumTax", AMOUNT, null=False),
        col("InvoiceAmount", AMOUNT, null=False, comment="SalesAmount + SumTax"),
        col("InvoiceAmountMST", AMOUNT, null=False, comment="accounting currency"),
        col("Voucher", "text", null=False),
        col("PostedDateTime", "datetime", null=False, default="now"),
    ], ["DataAreaId", "ProjInvoiceId"], uniques=[["DataAreaId", "ProposalId"]]),
]


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
def q(ident):
    """Quote identifiers that are not plain lowercase (PostgreSQL would fold them)."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", ident):
        return ident
    return '"' + ident + '"'


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
