"""The ACCOUNTING store tables of the later migrations: 0002 (the job log), 0004 (sales tax and
project invoices), 0005 (expense reports, vendor invoices and their export entities)."""

from .common import AMOUNT, DATAAREA, IS_PROCESSED, PRICE, QTY, RATE, col, enum, fk, table

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
