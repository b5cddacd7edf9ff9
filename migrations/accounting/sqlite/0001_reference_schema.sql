-- accounting/sqlite/0001_reference_schema.sql (generated from one description for
-- both dialects; keep the SQLite and PostgreSQL versions in step).
--
-- Reference schema of the ACCOUNTING store (a finance-and-operations-like system).
-- Holds the prerequisites (legal entities, currencies and rates, fiscal periods, number
-- sequences, parameters), the entities the table maps write (company-specific ones keyed by
-- DataAreaId, staging tables by ProjectDataAreaId), and the tables of the accounting
-- processes: forecasts, integration journals, the project subledger and the general ledger.
-- Record ids of synced entities (ProjectId, ContractId, ActualId, ...) are the operational
-- GUIDs (see table-maps/projects.toml). Synced and staging tables have no foreign keys: the
-- sync writes parents first, but a staging row must never be rejected for a missing parent.
--
-- Type conventions (SQLite has no decimal, boolean, date or UUID types):
--   decimal   TEXT holding the canonical decimal text (e.g. '1234.5000', '-0.25'), never REAL,
--             so no binary rounding ever touches money; precision/scale are the table maps'
--             (amounts and prices 19,4; quantities and hours 19,6; exchange rates 23,10)
--   boolean   INTEGER 0/1
--   date      TEXT 'YYYY-MM-DD'
--   datetime  TEXT RFC 3339 in UTC, e.g. '2024-01-31T09:30:00Z'
--   guid      TEXT, lowercase hyphenated, e.g. '6f1e2c3a-0b1d-4e5f-8a9b-0c1d2e3f4a5b'
--   integer   INTEGER (option-set codes, counters)

-- Legal entities. Fan-out per company covers the ones in integration scope.
CREATE TABLE "CompanyInfo" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "Name" TEXT,
    "AccountingCurrency" TEXT NOT NULL,
    "ReportingCurrency" TEXT,
    "InIntegrationScope" INTEGER NOT NULL DEFAULT 1 CHECK ("InIntegrationScope" IN (0, 1)),  -- included in the dual-write scope (fan-out per company)
    PRIMARY KEY ("DataAreaId")
);

-- Currencies with their rounding precision.
CREATE TABLE "Currency" (
    "CurrencyCode" TEXT NOT NULL,
    "Name" TEXT,
    "Precision" INTEGER NOT NULL DEFAULT 2,  -- decimals amounts are rounded to
    "TransactionCurrencyId" TEXT UNIQUE,  -- the operational transactioncurrencyid of this currency (prerequisite setup);
                                          -- resolves the currency GUIDs the synced entities carry
    PRIMARY KEY ("CurrencyCode")
);

-- Currency exchange rates: 1 FromCurrencyCode = Rate ToCurrencyCode.
CREATE TABLE "ExchangeRate" (
    "FromCurrencyCode" TEXT NOT NULL,
    "ToCurrencyCode" TEXT NOT NULL,
    "ValidFrom" TEXT NOT NULL,
    "ValidTo" TEXT,  -- inclusive; null = open-ended
    "Rate" TEXT NOT NULL,
    PRIMARY KEY ("FromCurrencyCode", "ToCurrencyCode", "ValidFrom")
);

-- Ledger periods per legal entity.
CREATE TABLE "LedgerFiscalPeriod" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "StartDate" TEXT NOT NULL,
    "EndDate" TEXT NOT NULL,
    "Name" TEXT,
    "Status" TEXT NOT NULL DEFAULT 'Open' CHECK ("Status" IN ('Open', 'Closed')),
    PRIMARY KEY ("DataAreaId", "StartDate")
);

-- Number sequences (vouchers, journal ids, transaction ids).
CREATE TABLE "NumberSequenceTable" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "NumberSequenceCode" TEXT NOT NULL,
    "Format" TEXT NOT NULL,  -- # marks digits, e.g. PJV-######
    "NextNumber" INTEGER NOT NULL DEFAULT 1,
    "Highest" INTEGER,  -- null = unbounded
    PRIMARY KEY ("DataAreaId", "NumberSequenceCode")
);

-- Project management and accounting parameters per legal entity.
CREATE TABLE "ProjParameters" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "IntegrationJournalPeriodUnit" TEXT NOT NULL DEFAULT 'Days' CHECK ("IntegrationJournalPeriodUnit" IN ('Days', 'Months', 'Years', 'All')),  -- grouping of actuals into integration journals
    "AutoSetAccountingDateToOpenPeriod" INTEGER NOT NULL DEFAULT 0 CHECK ("AutoSetAccountingDateToOpenPeriod" IN (0, 1)),  -- move an accounting date in a closed period to the first date of the next open one
    "DefaultProjectCategoryId" TEXT,  -- project category for actuals without a transaction category
    "VoucherNumberSequenceCode" TEXT,
    "JournalNumberSequenceCode" TEXT,
    "TransIdNumberSequenceCode" TEXT,
    "TransferLinesWithPostingErrors" INTEGER NOT NULL DEFAULT 1 CHECK ("TransferLinesWithPostingErrors" IN (0, 1)),  -- post the valid lines and move lines with errors to a new journal
    "BatchPostingLineThreshold" INTEGER NOT NULL DEFAULT 100,  -- journals with more lines post in batch
    "PostingParallelTasks" INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY ("DataAreaId")
);

-- Line properties.
CREATE TABLE "ProjLineProperty" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "LinePropertyId" TEXT NOT NULL,
    "Name" TEXT,
    "ToBeInvoiced" INTEGER NOT NULL DEFAULT 1 CHECK ("ToBeInvoiced" IN (0, 1)),
    PRIMARY KEY ("DataAreaId", "LinePropertyId")
);

-- Billing type -> line property, per legal entity.
CREATE TABLE "ProjCDSLinePropertyMapping" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "BillingType" TEXT NOT NULL CHECK ("BillingType" IN ('NotSpecified', 'Chargeable', 'NonChargeable', 'Complimentary', 'NotAvailable')),  -- NotSpecified applies to actuals without a billing type
    "LinePropertyId" TEXT NOT NULL,
    PRIMARY KEY ("DataAreaId", "BillingType")
);

-- Ledger accounts used when posting, per legal entity, transaction type and class
-- (TransactionClassification 'All' is the fallback).
CREATE TABLE "ProjLedgerPostingSetup" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "TransType" TEXT NOT NULL,
    "TransactionClassification" TEXT NOT NULL DEFAULT 'All',
    "DebitMainAccount" TEXT NOT NULL,
    "CreditMainAccount" TEXT NOT NULL,
    PRIMARY KEY ("DataAreaId", "TransType", "TransactionClassification")
);

-- Project contracts (map project-contracts).
CREATE TABLE "ProjCDSProjectContractEntity" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "ContractId" TEXT NOT NULL,  -- = operational salesorderid
    "ContractNumber" TEXT,
    "ContractName" TEXT,
    "CustomerId" TEXT,
    "ContractingUnit" TEXT,
    "TransactionCurrencyId" TEXT,
    "ContractAmount" TEXT,
    "RequestedDeliveryDate" TEXT,
    "SalesTaxGroup" TEXT,  -- mastered here
    "DefaultDimensionDisplayValue" TEXT,  -- mastered here
    PRIMARY KEY ("DataAreaId", "ContractId")
);

-- Project funding sources (map funding-sources).
CREATE TABLE "ProjCDSFundingSourceEntity" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "FundingSourceId" TEXT NOT NULL,  -- = operational msdyn_projectcontractsplitbillingruleid
    "ContractId" TEXT,
    "CustomerId" TEXT,
    "Name" TEXT,
    "FundingType" TEXT CHECK ("FundingType" IN ('Customer', 'Grant', 'Organization')),
    PRIMARY KEY ("DataAreaId", "FundingSourceId")
);

-- Project contract billing rules (map contract-lines).
CREATE TABLE "ProjCDSContractLineImportEntity" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "ContractLine" TEXT NOT NULL,  -- = operational salesorderdetailid
    "ContractId" TEXT,
    "ProjectId" TEXT,
    "Description" TEXT,
    "BillingRuleType" TEXT CHECK ("BillingRuleType" IN ('TimeAndMaterial', 'Milestone')),
    "LineAmount" TEXT,
    "IncludeTime" INTEGER CHECK ("IncludeTime" IN (0, 1)),
    "IncludeExpense" INTEGER CHECK ("IncludeExpense" IN (0, 1)),
    "IncludeMaterial" INTEGER CHECK ("IncludeMaterial" IN (0, 1)),
    "IncludeFee" INTEGER CHECK ("IncludeFee" IN (0, 1)),
    "TransactionCurrencyId" TEXT,
    "DefaultDimensionDisplayValue" TEXT,  -- mastered here
    PRIMARY KEY ("DataAreaId", "ContractLine")
);

-- On-account transactions from billing milestones (map contract-line-milestones).
CREATE TABLE "ProjCDSContractLineMilestoneEntity" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "MilestoneId" TEXT NOT NULL,  -- = operational msdyn_contractlinescheduleofvalueid
    "ContractLine" TEXT,
    "Description" TEXT,
    "MilestoneDate" TEXT,
    "Amount" TEXT,
    "TransactionCurrencyId" TEXT,
    "InvoiceStatus" TEXT,
    "SalesTaxGroup" TEXT,  -- accounting attribute, maintained here
    "DefaultDimensionDisplayValue" TEXT,  -- accounting attribute, maintained here
    PRIMARY KEY ("DataAreaId", "MilestoneId")
);

-- Fixed-price revenue estimate projects: created with the first milestone of a contract line.
CREATE TABLE "ProjFixedPriceRevenueEstimateProject" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "ContractLine" TEXT NOT NULL,
    "ProjectId" TEXT,
    "FirstMilestoneId" TEXT,
    "CreatedDateTime" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY ("DataAreaId", "ContractLine")
);

-- Projects (map projects).
CREATE TABLE "ProjCDSProjectEntity" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "ProjectId" TEXT NOT NULL,  -- = operational msdyn_projectid
    "ProjectName" TEXT,
    "Description" TEXT,
    "CustomerId" TEXT,
    "ContractingUnit" TEXT,
    "ProjectedStartDate" TEXT,
    "ProjectedEndDate" TEXT,
    "ProjectStatus" TEXT,
    "SalesTaxGroup" TEXT,  -- mastered here
    "DefaultDimensionDisplayValue" TEXT,  -- mastered here
    PRIMARY KEY ("DataAreaId", "ProjectId")
);

-- Project tasks, for reference (map project-tasks).
CREATE TABLE "ProjCDSTaskEntity" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "TaskId" TEXT NOT NULL,  -- = operational msdyn_projecttaskid
    "ProjectId" TEXT,
    "ParentTaskId" TEXT,
    "TaskName" TEXT,
    "WbsId" TEXT,
    "StartDate" TEXT,
    "EndDate" TEXT,
    "EffortHours" TEXT,
    PRIMARY KEY ("DataAreaId", "TaskId")
);
CREATE INDEX ix_projcdstaskentity_dataareaid_projectid ON "ProjCDSTaskEntity" ("DataAreaId", "ProjectId");

-- Company-specific resource roles: one row per role and legal entity (map resource-roles).
CREATE TABLE "ProjCDSResourceCategoryEntity" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "RoleId" TEXT NOT NULL,  -- = operational bookableresourcecategoryid
    "Name" TEXT,
    "Description" TEXT,
    PRIMARY KEY ("DataAreaId", "RoleId")
);

-- Shared categories: four per transaction category, one per transaction type
-- (map transaction-categories).
CREATE TABLE "ProjCDSCategoryEntity" (
    "CategoryId" TEXT NOT NULL,  -- = operational msdyn_transactioncategoryid
    "TransactionType" TEXT NOT NULL CHECK ("TransactionType" IN ('Hour', 'Expense', 'Item', 'Fee')),
    "CategoryName" TEXT,
    "Description" TEXT,
    PRIMARY KEY ("CategoryId", "TransactionType")
);

-- Project categories per legal entity, created by the accountant on top of a shared category.
CREATE TABLE "ProjCategory" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "CategoryId" TEXT NOT NULL,  -- project category id, e.g. Travel
    "Name" TEXT,
    "SharedCategoryId" TEXT,  -- ProjCDSCategoryEntity.CategoryId
    "TransactionType" TEXT CHECK ("TransactionType" IN ('Hour', 'Expense', 'Item', 'Fee')),
    PRIMARY KEY ("DataAreaId", "CategoryId"),
    UNIQUE ("DataAreaId", "SharedCategoryId", "TransactionType")
);

-- Staging for project actuals (map actuals). The import from staging turns unprocessed rows
-- into integration journal lines; posting writes the four accounting attributes back here.
-- No foreign keys and no checks: a staging row is never rejected.
CREATE TABLE "ProjCDSActualsImport" (
    "ProjectDataAreaId" TEXT NOT NULL,  -- legal entity of the project
    "ActualId" TEXT NOT NULL,  -- = operational msdyn_actualid
    "ProjectId" TEXT,
    "TaskId" TEXT,
    "TransactionClassification" TEXT,
    "TransType" TEXT,
    "TransactionCategory" TEXT,  -- shared category id (ProjCDSCategoryEntity.CategoryId)
    "ResourceId" TEXT,
    "ResourceCategory" TEXT,  -- role
    "BillingType" TEXT,
    "ContractId" TEXT,
    "ContractLine" TEXT,
    "Quantity" TEXT,
    "UnitPrice" TEXT,
    "Amount" TEXT,
    "AmountMethod" TEXT,
    "TransactionCurrencyId" TEXT,
    "DocumentDate" TEXT,
    "StartDate" TEXT,
    "EndDate" TEXT,
    "AccountingDate" TEXT,
    "Description" TEXT,
    "ExternalDescription" TEXT,
    "ContractingUnit" TEXT,
    "ResourceOperationUnitId" TEXT,
    "CustomerId" TEXT,
    "UnitOfMeasure" TEXT,
    "IsProcessed" INTEGER NOT NULL DEFAULT 0 CHECK ("IsProcessed" IN (0, 1)),  -- set by the accounting processes; never written by the sync
    "AccountingAmount" TEXT,  -- written at posting, synced back
    "ExchangeRate" TEXT,  -- written at posting, synced back
    "VoucherNumber" TEXT,  -- written at posting, synced back
    "SalesTaxAmount" TEXT,  -- written at posting, synced back
    PRIMARY KEY ("ProjectDataAreaId", "ActualId")
);
CREATE INDEX ix_projcdsactualsimport_projectdataareaid_isprocessed ON "ProjCDSActualsImport" ("ProjectDataAreaId", "IsProcessed");

-- Staging for hour estimates (map hour-estimates), -> ProjForecastEmpl.
CREATE TABLE "ProjCDSEstimateHoursImport" (
    "ProjectDataAreaId" TEXT NOT NULL,  -- legal entity of the project
    "ResourceAssignmentId" TEXT NOT NULL,  -- = operational msdyn_resourceassignmentid
    "ProjectId" TEXT,
    "TaskId" TEXT,
    "ResourceId" TEXT,
    "Hours" TEXT,
    "StartDate" TEXT,
    "EndDate" TEXT,
    "CostAmount" TEXT,
    "SalesAmount" TEXT,
    "TransactionCurrencyId" TEXT,
    "IsProcessed" INTEGER NOT NULL DEFAULT 0 CHECK ("IsProcessed" IN (0, 1)),  -- set by the accounting processes; never written by the sync
    PRIMARY KEY ("ProjectDataAreaId", "ResourceAssignmentId")
);

-- Staging for expense estimates (map expense-estimates), -> ProjForecastCost.
-- Cost and sales estimate lines arrive as separate rows.
CREATE TABLE "ProjCDSEstimateExpenseImport" (
    "ProjectDataAreaId" TEXT NOT NULL,  -- legal entity of the project
    "EstimateLineId" TEXT NOT NULL,  -- = operational msdyn_estimatelineid
    "ProjectId" TEXT,
    "TaskId" TEXT,
    "TransactionCategory" TEXT,
    "TransType" TEXT,  -- Cost or UnbilledSales
    "BillingType" TEXT,
    "StartDate" TEXT,
    "EndDate" TEXT,
    "Quantity" TEXT,
    "UnitPrice" TEXT,
    "Amount" TEXT,
    "TransactionCurrencyId" TEXT,
    "Description" TEXT,
    "IsProcessed" INTEGER NOT NULL DEFAULT 0 CHECK ("IsProcessed" IN (0, 1)),  -- set by the accounting processes; never written by the sync
    PRIMARY KEY ("ProjectDataAreaId", "EstimateLineId")
);

-- Staging for material estimates (map material-estimates), -> ForecastSales.
-- Cost and sales estimate lines arrive as separate rows.
CREATE TABLE "ProjForecastSalesImport" (
    "ProjectDataAreaId" TEXT NOT NULL,  -- legal entity of the project
    "EstimateLineId" TEXT NOT NULL,  -- = operational msdyn_estimatelineid
    "ProjectId" TEXT,
    "TaskId" TEXT,
    "ProductId" TEXT,
    "TransactionCategory" TEXT,
    "TransType" TEXT,  -- Cost or UnbilledSales
    "BillingType" TEXT,
    "StartDate" TEXT,
    "EndDate" TEXT,
    "Quantity" TEXT,
    "UnitPrice" TEXT,
    "Amount" TEXT,
    "TransactionCurrencyId" TEXT,
    "Description" TEXT,
    "IsProcessed" INTEGER NOT NULL DEFAULT 0 CHECK ("IsProcessed" IN (0, 1)),  -- set by the accounting processes; never written by the sync
    PRIMARY KEY ("ProjectDataAreaId", "EstimateLineId")
);

-- Staging for links between actuals (map transaction-connections). Shared: the two
-- actuals may belong to different legal entities.
CREATE TABLE "ProjCDSTransactionRelationshipImport" (
    "ConnectionId" TEXT NOT NULL,  -- = operational msdyn_transactionconnectionid
    "Transaction1Id" TEXT,  -- ActualId of transaction 1
    "Transaction1Role" TEXT,  -- transaction type of transaction 1
    "Transaction1Type" TEXT,
    "Transaction2Id" TEXT,  -- ActualId of transaction 2
    "Transaction2Role" TEXT,
    "Transaction2Type" TEXT,
    "IsProcessed" INTEGER NOT NULL DEFAULT 0 CHECK ("IsProcessed" IN (0, 1)),  -- set by the accounting processes; never written by the sync
    PRIMARY KEY ("ConnectionId")
);
CREATE INDEX ix_projcdstransactionrelationshipimport_transaction1id ON "ProjCDSTransactionRelationshipImport" ("Transaction1Id");
CREATE INDEX ix_projcdstransactionrelationshipimport_transaction2id ON "ProjCDSTransactionRelationshipImport" ("Transaction2Id");

-- Hour forecasts, maintained from ProjCDSEstimateHoursImport.
CREATE TABLE "ProjForecastEmpl" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "TransId" TEXT NOT NULL,
    "ResourceAssignmentId" TEXT,  -- source staging row
    "ProjectId" TEXT,
    "TaskId" TEXT,
    "ResourceId" TEXT,
    "SchedFromDate" TEXT,
    "SchedToDate" TEXT,
    "Hours" TEXT,
    "CostAmount" TEXT,
    "SalesAmount" TEXT,
    "CurrencyCode" TEXT,
    "ForecastModelId" TEXT,
    "ModifiedDateTime" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY ("DataAreaId", "TransId"),
    UNIQUE ("DataAreaId", "ResourceAssignmentId")
);

-- Expense forecasts: ONE row merging the cost and the sales estimate line.
CREATE TABLE "ProjForecastCost" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "TransId" TEXT NOT NULL,
    "CostEstimateLineId" TEXT,
    "SalesEstimateLineId" TEXT,
    "ProjectId" TEXT,
    "TaskId" TEXT,
    "CategoryId" TEXT,  -- project category in this legal entity
    "SharedCategoryId" TEXT,
    "SchedFromDate" TEXT,
    "SchedToDate" TEXT,
    "Quantity" TEXT,
    "CostPrice" TEXT,
    "CostAmount" TEXT,
    "SalesPrice" TEXT,
    "SalesAmount" TEXT,
    "CurrencyCode" TEXT,
    "Description" TEXT,
    "ForecastModelId" TEXT,
    "ModifiedDateTime" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY ("DataAreaId", "TransId")
);

-- Item forecasts: ONE row merging the cost and the sales material estimate line.
CREATE TABLE "ForecastSales" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "TransId" TEXT NOT NULL,
    "CostEstimateLineId" TEXT,
    "SalesEstimateLineId" TEXT,
    "ProjectId" TEXT,
    "TaskId" TEXT,
    "ProductId" TEXT,
    "CategoryId" TEXT,
    "StartDate" TEXT,
    "EndDate" TEXT,
    "Quantity" TEXT,
    "CostPrice" TEXT,
    "CostAmount" TEXT,
    "SalesPrice" TEXT,
    "SalesAmount" TEXT,
    "CurrencyCode" TEXT,
    "Description" TEXT,
    "ForecastModelId" TEXT,
    "ModifiedDateTime" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY ("DataAreaId", "TransId")
);

-- Project Operations integration journals (headers).
CREATE TABLE "ProjCDSIntegrationJournal" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "JournalId" TEXT NOT NULL,
    "Description" TEXT,
    "PeriodUnit" TEXT NOT NULL CHECK ("PeriodUnit" IN ('Days', 'Months', 'Years', 'All')),
    "PeriodKey" TEXT NOT NULL,  -- the group: 2024-01-31 (Days), 2024-01 (Months), 2024 (Years), All
    "Status" TEXT NOT NULL DEFAULT 'Open' CHECK ("Status" IN ('Open', 'Posting', 'Posted')),
    "OriginalJournalId" TEXT,  -- source journal of lines moved here after posting errors
    "CreatedDateTime" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    "PostedDateTime" TEXT,
    PRIMARY KEY ("DataAreaId", "JournalId")
);
CREATE INDEX ix_projcdsintegrationjournal_dataareaid_periodkey_status ON "ProjCDSIntegrationJournal" ("DataAreaId", "PeriodKey", "Status");

-- Integration journal lines: one per actual.
CREATE TABLE "ProjCDSIntegrationJournalLine" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "JournalId" TEXT NOT NULL,
    "LineNum" INTEGER NOT NULL,
    "ActualId" TEXT NOT NULL,
    "ProjectId" TEXT,
    "TaskId" TEXT,
    "ContractId" TEXT,
    "ContractLine" TEXT,
    "TransDate" TEXT,  -- transaction date
    "AccountingDate" TEXT,  -- ledger date
    "Voucher" TEXT,
    "TransactionClassification" TEXT,
    "TransType" TEXT,
    "ProjectCategoryId" TEXT,
    "LinePropertyId" TEXT,
    "ResourceId" TEXT,
    "ResourceCategory" TEXT,
    "Quantity" TEXT,
    "UnitPrice" TEXT,
    "CurrencyCode" TEXT,
    "ExchangeRate" TEXT,
    "AmountCur" TEXT,  -- transaction currency
    "AmountMST" TEXT,  -- accounting currency
    "SalesTaxAmount" TEXT,
    "BillingSalesTaxGroup" TEXT,  -- editable
    "BillingItemSalesTaxGroup" TEXT,  -- editable
    "DefaultDimensionDisplayValue" TEXT,  -- editable (distribute amounts)
    "Description" TEXT,
    "ExternalDescription" TEXT,
    "Status" TEXT NOT NULL DEFAULT 'Draft' CHECK ("Status" IN ('Draft', 'Error', 'Processing', 'Posted', 'Unrecoverable', 'InvalidActuals')),
    "ErrorMessage" TEXT,
    "PostedDateTime" TEXT,
    PRIMARY KEY ("DataAreaId", "JournalId", "LineNum"),
    FOREIGN KEY ("DataAreaId", "JournalId") REFERENCES "ProjCDSIntegrationJournal" ("DataAreaId", "JournalId") ON DELETE CASCADE
);
CREATE INDEX ix_projcdsintegrationjournalline_dataareaid_actualid ON "ProjCDSIntegrationJournalLine" ("DataAreaId", "ActualId");
CREATE INDEX ix_projcdsintegrationjournalline_voucher ON "ProjCDSIntegrationJournalLine" ("Voucher");

-- Posted project transactions (the project subledger).
CREATE TABLE "ProjPostedTransTable" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "TransId" TEXT NOT NULL,
    "ActualId" TEXT,
    "JournalId" TEXT,
    "ProjectId" TEXT,
    "TaskId" TEXT,
    "TransactionClassification" TEXT,
    "TransType" TEXT,
    "CategoryId" TEXT,
    "LinePropertyId" TEXT,
    "ResourceId" TEXT,
    "Voucher" TEXT,
    "TransDate" TEXT,
    "AccountingDate" TEXT,
    "Quantity" TEXT,
    "CurrencyCode" TEXT,
    "ExchangeRate" TEXT,
    "AmountCur" TEXT,
    "AmountMST" TEXT,
    "SalesTaxAmount" TEXT,
    "DefaultDimensionDisplayValue" TEXT,
    "PostedDateTime" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY ("DataAreaId", "TransId")
);
CREATE INDEX ix_projpostedtranstable_dataareaid_actualid ON "ProjPostedTransTable" ("DataAreaId", "ActualId");
CREATE INDEX ix_projpostedtranstable_voucher ON "ProjPostedTransTable" ("Voucher");

-- General ledger entries. Amounts are signed (debit positive, credit negative);
-- IsCredit tells the side.
CREATE TABLE "GeneralJournalAccountEntry" (
    "RecId" INTEGER PRIMARY KEY,
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "Voucher" TEXT NOT NULL,
    "AccountingDate" TEXT NOT NULL,
    "MainAccount" TEXT NOT NULL,
    "LedgerDimensionDisplayValue" TEXT,
    "PostingType" TEXT,
    "TransactionCurrencyCode" TEXT NOT NULL,
    "TransactionCurrencyAmount" TEXT NOT NULL,
    "AccountingCurrencyAmount" TEXT NOT NULL,
    "IsCredit" INTEGER NOT NULL CHECK ("IsCredit" IN (0, 1)),
    "Text" TEXT,
    "ProjectId" TEXT,
    "ActualId" TEXT,
    "CreatedDateTime" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX ix_generaljournalaccountentry_dataareaid_voucher ON "GeneralJournalAccountEntry" ("DataAreaId", "Voucher");

-- Posted transaction relationships (related vouchers), from ProjCDSTransactionRelationshipImport.
CREATE TABLE "ProjPostedTransRelationship" (
    "ConnectionId" TEXT NOT NULL,
    "Transaction1Id" TEXT,
    "Transaction1DataAreaId" TEXT,
    "Transaction1Voucher" TEXT,
    "Transaction1Role" TEXT,
    "Transaction2Id" TEXT,
    "Transaction2DataAreaId" TEXT,
    "Transaction2Voucher" TEXT,
    "Transaction2Role" TEXT,
    "PostedDateTime" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY ("ConnectionId")
);
