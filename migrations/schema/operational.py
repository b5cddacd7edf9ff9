"""The OPERATIONAL store (Dataverse-like) tables, by migration: 0001 (the reference schema),
0002 (proforma invoices), 0003 (expenses and vendor invoices from the accounting side), 0004
(entry journals and price lists)."""

from .common import AMOUNT, PERCENT, PRICE, QTY, RATE, col, fk, std_op, table

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
