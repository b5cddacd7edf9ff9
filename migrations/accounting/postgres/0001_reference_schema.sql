-- accounting/postgres/0001_reference_schema.sql (generated from one description for
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
-- Type conventions: NUMERIC(p,s) matching the table maps (amounts and prices 19,4; quantities
-- and hours 19,6; exchange rates 23,10), BOOLEAN, DATE, TIMESTAMPTZ, UUID, INTEGER for
-- option-set codes, BIGINT for counters. Mixed-case identifiers are quoted so they keep the
-- exact names the table maps use.

-- Legal entities. Fan-out per company covers the ones in integration scope.
CREATE TABLE "CompanyInfo" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "Name" TEXT,
    "AccountingCurrency" TEXT NOT NULL,
    "ReportingCurrency" TEXT,
    "InIntegrationScope" BOOLEAN NOT NULL DEFAULT true,  -- included in the dual-write scope (fan-out per company)
    PRIMARY KEY ("DataAreaId")
);

-- Currencies with their rounding precision.
CREATE TABLE "Currency" (
    "CurrencyCode" TEXT NOT NULL,
    "Name" TEXT,
    "Precision" INTEGER NOT NULL DEFAULT 2,  -- decimals amounts are rounded to
    "TransactionCurrencyId" UUID UNIQUE,  -- the operational transactioncurrencyid of this currency (prerequisite setup);
                                          -- resolves the currency GUIDs the synced entities carry
    PRIMARY KEY ("CurrencyCode")
);

-- Currency exchange rates: 1 FromCurrencyCode = Rate ToCurrencyCode.
CREATE TABLE "ExchangeRate" (
    "FromCurrencyCode" TEXT NOT NULL,
    "ToCurrencyCode" TEXT NOT NULL,
    "ValidFrom" DATE NOT NULL,
    "ValidTo" DATE,  -- inclusive; null = open-ended
    "Rate" NUMERIC(23,10) NOT NULL,
    PRIMARY KEY ("FromCurrencyCode", "ToCurrencyCode", "ValidFrom")
);

-- Ledger periods per legal entity.
CREATE TABLE "LedgerFiscalPeriod" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "StartDate" DATE NOT NULL,
    "EndDate" DATE NOT NULL,
    "Name" TEXT,
    "Status" TEXT NOT NULL DEFAULT 'Open' CHECK ("Status" IN ('Open', 'Closed')),
    PRIMARY KEY ("DataAreaId", "StartDate")
);

-- Number sequences (vouchers, journal ids, transaction ids).
CREATE TABLE "NumberSequenceTable" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "NumberSequenceCode" TEXT NOT NULL,
    "Format" TEXT NOT NULL,  -- # marks digits, e.g. PJV-######
    "NextNumber" BIGINT NOT NULL DEFAULT 1,
    "Highest" BIGINT,  -- null = unbounded
    PRIMARY KEY ("DataAreaId", "NumberSequenceCode")
);

-- Project management and accounting parameters per legal entity.
CREATE TABLE "ProjParameters" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "IntegrationJournalPeriodUnit" TEXT NOT NULL DEFAULT 'Days' CHECK ("IntegrationJournalPeriodUnit" IN ('Days', 'Months', 'Years', 'All')),  -- grouping of actuals into integration journals
    "AutoSetAccountingDateToOpenPeriod" BOOLEAN NOT NULL DEFAULT false,  -- move an accounting date in a closed period to the first date of the next open one
    "DefaultProjectCategoryId" TEXT,  -- project category for actuals without a transaction category
    "VoucherNumberSequenceCode" TEXT,
    "JournalNumberSequenceCode" TEXT,
    "TransIdNumberSequenceCode" TEXT,
    "TransferLinesWithPostingErrors" BOOLEAN NOT NULL DEFAULT true,  -- post the valid lines and move lines with errors to a new journal
    "BatchPostingLineThreshold" BIGINT NOT NULL DEFAULT 100,  -- journals with more lines post in batch
    "PostingParallelTasks" BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY ("DataAreaId")
);

-- Line properties.
CREATE TABLE "ProjLineProperty" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "LinePropertyId" TEXT NOT NULL,
    "Name" TEXT,
    "ToBeInvoiced" BOOLEAN NOT NULL DEFAULT true,
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
    "ContractId" UUID NOT NULL,  -- = operational salesorderid
    "ContractNumber" TEXT,
    "ContractName" TEXT,
    "CustomerId" UUID,
    "ContractingUnit" UUID,
    "TransactionCurrencyId" UUID,
    "ContractAmount" NUMERIC(19,4),
    "RequestedDeliveryDate" DATE,
    "SalesTaxGroup" TEXT,  -- mastered here
    "DefaultDimensionDisplayValue" TEXT,  -- mastered here
    PRIMARY KEY ("DataAreaId", "ContractId")
);

-- Project funding sources (map funding-sources).
CREATE TABLE "ProjCDSFundingSourceEntity" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "FundingSourceId" UUID NOT NULL,  -- = operational msdyn_projectcontractsplitbillingruleid
    "ContractId" UUID,
    "CustomerId" UUID,
    "Name" TEXT,
    "FundingType" TEXT CHECK ("FundingType" IN ('Customer', 'Grant', 'Organization')),
    PRIMARY KEY ("DataAreaId", "FundingSourceId")
);

-- Project contract billing rules (map contract-lines).
CREATE TABLE "ProjCDSContractLineImportEntity" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "ContractLine" UUID NOT NULL,  -- = operational salesorderdetailid
    "ContractId" UUID,
    "ProjectId" UUID,
    "Description" TEXT,
    "BillingRuleType" TEXT CHECK ("BillingRuleType" IN ('TimeAndMaterial', 'Milestone')),
    "LineAmount" NUMERIC(19,4),
    "IncludeTime" BOOLEAN,
    "IncludeExpense" BOOLEAN,
    "IncludeMaterial" BOOLEAN,
    "IncludeFee" BOOLEAN,
    "TransactionCurrencyId" UUID,
    "DefaultDimensionDisplayValue" TEXT,  -- mastered here
    PRIMARY KEY ("DataAreaId", "ContractLine")
);

-- On-account transactions from billing milestones (map contract-line-milestones).
CREATE TABLE "ProjCDSContractLineMilestoneEntity" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "MilestoneId" UUID NOT NULL,  -- = operational msdyn_contractlinescheduleofvalueid
    "ContractLine" UUID,
    "Description" TEXT,
    "MilestoneDate" DATE,
    "Amount" NUMERIC(19,4),
    "TransactionCurrencyId" UUID,
    "InvoiceStatus" TEXT,
    "SalesTaxGroup" TEXT,  -- accounting attribute, maintained here
    "DefaultDimensionDisplayValue" TEXT,  -- accounting attribute, maintained here
    PRIMARY KEY ("DataAreaId", "MilestoneId")
);

-- Fixed-price revenue estimate projects: created with the first milestone of a contract line.
CREATE TABLE "ProjFixedPriceRevenueEstimateProject" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "ContractLine" UUID NOT NULL,
    "ProjectId" UUID,
    "FirstMilestoneId" UUID,
    "CreatedDateTime" TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY ("DataAreaId", "ContractLine")
);

-- Projects (map projects).
CREATE TABLE "ProjCDSProjectEntity" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "ProjectId" UUID NOT NULL,  -- = operational msdyn_projectid
    "ProjectName" TEXT,
    "Description" TEXT,
    "CustomerId" UUID,
    "ContractingUnit" UUID,
    "ProjectedStartDate" DATE,
    "ProjectedEndDate" DATE,
    "ProjectStatus" TEXT,
    "SalesTaxGroup" TEXT,  -- mastered here
    "DefaultDimensionDisplayValue" TEXT,  -- mastered here
    PRIMARY KEY ("DataAreaId", "ProjectId")
);

-- Project tasks, for reference (map project-tasks).
CREATE TABLE "ProjCDSTaskEntity" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "TaskId" UUID NOT NULL,  -- = operational msdyn_projecttaskid
    "ProjectId" UUID,
    "ParentTaskId" UUID,
    "TaskName" TEXT,
    "WbsId" TEXT,
    "StartDate" DATE,
    "EndDate" DATE,
    "EffortHours" NUMERIC(19,6),
    PRIMARY KEY ("DataAreaId", "TaskId")
);
CREATE INDEX ix_projcdstaskentity_dataareaid_projectid ON "ProjCDSTaskEntity" ("DataAreaId", "ProjectId");

-- Company-specific resource roles: one row per role and legal entity (map resource-roles).
CREATE TABLE "ProjCDSResourceCategoryEntity" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "RoleId" UUID NOT NULL,  -- = operational bookableresourcecategoryid
    "Name" TEXT,
    "Description" TEXT,
    PRIMARY KEY ("DataAreaId", "RoleId")
);

-- Shared categories: four per transaction category, one per transaction type
-- (map transaction-categories).
CREATE TABLE "ProjCDSCategoryEntity" (
    "CategoryId" UUID NOT NULL,  -- = operational msdyn_transactioncategoryid
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
    "SharedCategoryId" UUID,  -- ProjCDSCategoryEntity.CategoryId
    "TransactionType" TEXT CHECK ("TransactionType" IN ('Hour', 'Expense', 'Item', 'Fee')),
    PRIMARY KEY ("DataAreaId", "CategoryId"),
    UNIQUE ("DataAreaId", "SharedCategoryId", "TransactionType")
);

-- Staging for project actuals (map actuals). The import from staging turns unprocessed rows
-- into integration journal lines; posting writes the four accounting attributes back here.
-- No foreign keys and no checks: a staging row is never rejected.
CREATE TABLE "ProjCDSActualsImport" (
    "ProjectDataAreaId" TEXT NOT NULL,  -- legal entity of the project
    "ActualId" UUID NOT NULL,  -- = operational msdyn_actualid
    "ProjectId" UUID,
    "TaskId" UUID,
    "TransactionClassification" TEXT,
    "TransType" TEXT,
    "TransactionCategory" UUID,  -- shared category id (ProjCDSCategoryEntity.CategoryId)
    "ResourceId" UUID,
    "ResourceCategory" UUID,  -- role
    "BillingType" TEXT,
    "ContractId" UUID,
    "ContractLine" UUID,
    "Quantity" NUMERIC(19,6),
    "UnitPrice" NUMERIC(19,4),
    "Amount" NUMERIC(19,4),
    "AmountMethod" TEXT,
    "TransactionCurrencyId" UUID,
    "DocumentDate" DATE,
    "StartDate" TIMESTAMPTZ,
    "EndDate" TIMESTAMPTZ,
    "AccountingDate" DATE,
    "Description" TEXT,
    "ExternalDescription" TEXT,
    "ContractingUnit" UUID,
    "ResourceOperationUnitId" UUID,
    "CustomerId" UUID,
    "UnitOfMeasure" UUID,
    "IsProcessed" BOOLEAN NOT NULL DEFAULT false,  -- set by the accounting processes; never written by the sync
    "AccountingAmount" NUMERIC(19,4),  -- written at posting, synced back
    "ExchangeRate" NUMERIC(23,10),  -- written at posting, synced back
    "VoucherNumber" TEXT,  -- written at posting, synced back
    "SalesTaxAmount" NUMERIC(19,4),  -- written at posting, synced back
    PRIMARY KEY ("ProjectDataAreaId", "ActualId")
);
CREATE INDEX ix_projcdsactualsimport_projectdataareaid_isprocessed ON "ProjCDSActualsImport" ("ProjectDataAreaId", "IsProcessed");

-- Staging for hour estimates (map hour-estimates), -> ProjForecastEmpl.
CREATE TABLE "ProjCDSEstimateHoursImport" (
    "ProjectDataAreaId" TEXT NOT NULL,  -- legal entity of the project
    "ResourceAssignmentId" UUID NOT NULL,  -- = operational msdyn_resourceassignmentid
    "ProjectId" UUID,
    "TaskId" UUID,
    "ResourceId" UUID,
    "Hours" NUMERIC(19,6),
    "StartDate" DATE,
    "EndDate" DATE,
    "CostAmount" NUMERIC(19,4),
    "SalesAmount" NUMERIC(19,4),
    "TransactionCurrencyId" UUID,
    "IsProcessed" BOOLEAN NOT NULL DEFAULT false,  -- set by the accounting processes; never written by the sync
    PRIMARY KEY ("ProjectDataAreaId", "ResourceAssignmentId")
);

-- Staging for expense estimates (map expense-estimates), -> ProjForecastCost.
-- Cost and sales estimate lines arrive as separate rows.
CREATE TABLE "ProjCDSEstimateExpenseImport" (
    "ProjectDataAreaId" TEXT NOT NULL,  -- legal entity of the project
    "EstimateLineId" UUID NOT NULL,  -- = operational msdyn_estimatelineid
    "ProjectId" UUID,
    "TaskId" UUID,
    "TransactionCategory" UUID,
    "TransType" TEXT,  -- Cost or UnbilledSales
    "BillingType" TEXT,
    "StartDate" DATE,
    "EndDate" DATE,
    "Quantity" NUMERIC(19,6),
    "UnitPrice" NUMERIC(19,4),
    "Amount" NUMERIC(19,4),
    "TransactionCurrencyId" UUID,
    "Description" TEXT,
    "IsProcessed" BOOLEAN NOT NULL DEFAULT false,  -- set by the accounting processes; never written by the sync
    PRIMARY KEY ("ProjectDataAreaId", "EstimateLineId")
);

-- Staging for material estimates (map material-estimates), -> ForecastSales.
-- Cost and sales estimate lines arrive as separate rows.
CREATE TABLE "ProjForecastSalesImport" (
    "ProjectDataAreaId" TEXT NOT NULL,  -- legal entity of the project
    "EstimateLineId" UUID NOT NULL,  -- = operational msdyn_estimatelineid
    "ProjectId" UUID,
    "TaskId" UUID,
    "ProductId" UUID,
    "TransactionCategory" UUID,
    "TransType" TEXT,  -- Cost or UnbilledSales
    "BillingType" TEXT,
    "StartDate" DATE,
    "EndDate" DATE,
    "Quantity" NUMERIC(19,6),
    "UnitPrice" NUMERIC(19,4),
    "Amount" NUMERIC(19,4),
    "TransactionCurrencyId" UUID,
    "Description" TEXT,
    "IsProcessed" BOOLEAN NOT NULL DEFAULT false,  -- set by the accounting processes; never written by the sync
    PRIMARY KEY ("ProjectDataAreaId", "EstimateLineId")
);

-- Staging for links between actuals (map transaction-connections). Shared: the two
-- actuals may belong to different legal entities.
CREATE TABLE "ProjCDSTransactionRelationshipImport" (
    "ConnectionId" UUID NOT NULL,  -- = operational msdyn_transactionconnectionid
    "Transaction1Id" UUID,  -- ActualId of transaction 1
    "Transaction1Role" TEXT,  -- transaction type of transaction 1
    "Transaction1Type" TEXT,
    "Transaction2Id" UUID,  -- ActualId of transaction 2
    "Transaction2Role" TEXT,
    "Transaction2Type" TEXT,
    "IsProcessed" BOOLEAN NOT NULL DEFAULT false,  -- set by the accounting processes; never written by the sync
    PRIMARY KEY ("ConnectionId")
);
CREATE INDEX ix_projcdstransactionrelationshipimport_transaction1id ON "ProjCDSTransactionRelationshipImport" ("Transaction1Id");
CREATE INDEX ix_projcdstransactionrelationshipimport_transaction2id ON "ProjCDSTransactionRelationshipImport" ("Transaction2Id");

-- Hour forecasts, maintained from ProjCDSEstimateHoursImport.
CREATE TABLE "ProjForecastEmpl" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "TransId" TEXT NOT NULL,
    "ResourceAssignmentId" UUID,  -- source staging row
    "ProjectId" UUID,
    "TaskId" UUID,
    "ResourceId" UUID,
    "SchedFromDate" DATE,
    "SchedToDate" DATE,
    "Hours" NUMERIC(19,6),
    "CostAmount" NUMERIC(19,4),
    "SalesAmount" NUMERIC(19,4),
    "CurrencyCode" TEXT,
    "ForecastModelId" TEXT,
    "ModifiedDateTime" TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY ("DataAreaId", "TransId"),
    UNIQUE ("DataAreaId", "ResourceAssignmentId")
);

-- Expense forecasts: ONE row merging the cost and the sales estimate line.
CREATE TABLE "ProjForecastCost" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "TransId" TEXT NOT NULL,
    "CostEstimateLineId" UUID,
    "SalesEstimateLineId" UUID,
    "ProjectId" UUID,
    "TaskId" UUID,
    "CategoryId" TEXT,  -- project category in this legal entity
    "SharedCategoryId" UUID,
    "SchedFromDate" DATE,
    "SchedToDate" DATE,
    "Quantity" NUMERIC(19,6),
    "CostPrice" NUMERIC(19,4),
    "CostAmount" NUMERIC(19,4),
    "SalesPrice" NUMERIC(19,4),
    "SalesAmount" NUMERIC(19,4),
    "CurrencyCode" TEXT,
    "Description" TEXT,
    "ForecastModelId" TEXT,
    "ModifiedDateTime" TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY ("DataAreaId", "TransId")
);

-- Item forecasts: ONE row merging the cost and the sales material estimate line.
CREATE TABLE "ForecastSales" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "TransId" TEXT NOT NULL,
    "CostEstimateLineId" UUID,
    "SalesEstimateLineId" UUID,
    "ProjectId" UUID,
    "TaskId" UUID,
    "ProductId" UUID,
    "CategoryId" TEXT,
    "StartDate" DATE,
    "EndDate" DATE,
    "Quantity" NUMERIC(19,6),
    "CostPrice" NUMERIC(19,4),
    "CostAmount" NUMERIC(19,4),
    "SalesPrice" NUMERIC(19,4),
    "SalesAmount" NUMERIC(19,4),
    "CurrencyCode" TEXT,
    "Description" TEXT,
    "ForecastModelId" TEXT,
    "ModifiedDateTime" TIMESTAMPTZ NOT NULL DEFAULT now(),
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
    "CreatedDateTime" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "PostedDateTime" TIMESTAMPTZ,
    PRIMARY KEY ("DataAreaId", "JournalId")
);
CREATE INDEX ix_projcdsintegrationjournal_dataareaid_periodkey_status ON "ProjCDSIntegrationJournal" ("DataAreaId", "PeriodKey", "Status");

-- Integration journal lines: one per actual.
CREATE TABLE "ProjCDSIntegrationJournalLine" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "JournalId" TEXT NOT NULL,
    "LineNum" BIGINT NOT NULL,
    "ActualId" UUID NOT NULL,
    "ProjectId" UUID,
    "TaskId" UUID,
    "ContractId" UUID,
    "ContractLine" UUID,
    "TransDate" DATE,  -- transaction date
    "AccountingDate" DATE,  -- ledger date
    "Voucher" TEXT,
    "TransactionClassification" TEXT,
    "TransType" TEXT,
    "ProjectCategoryId" TEXT,
    "LinePropertyId" TEXT,
    "ResourceId" UUID,
    "ResourceCategory" UUID,
    "Quantity" NUMERIC(19,6),
    "UnitPrice" NUMERIC(19,4),
    "CurrencyCode" TEXT,
    "ExchangeRate" NUMERIC(23,10),
    "AmountCur" NUMERIC(19,4),  -- transaction currency
    "AmountMST" NUMERIC(19,4),  -- accounting currency
    "SalesTaxAmount" NUMERIC(19,4),
    "BillingSalesTaxGroup" TEXT,  -- editable
    "BillingItemSalesTaxGroup" TEXT,  -- editable
    "DefaultDimensionDisplayValue" TEXT,  -- editable (distribute amounts)
    "Description" TEXT,
    "ExternalDescription" TEXT,
    "Status" TEXT NOT NULL DEFAULT 'Draft' CHECK ("Status" IN ('Draft', 'Error', 'Processing', 'Posted', 'Unrecoverable', 'InvalidActuals')),
    "ErrorMessage" TEXT,
    "PostedDateTime" TIMESTAMPTZ,
    PRIMARY KEY ("DataAreaId", "JournalId", "LineNum"),
    FOREIGN KEY ("DataAreaId", "JournalId") REFERENCES "ProjCDSIntegrationJournal" ("DataAreaId", "JournalId") ON DELETE CASCADE
);
CREATE INDEX ix_projcdsintegrationjournalline_dataareaid_actualid ON "ProjCDSIntegrationJournalLine" ("DataAreaId", "ActualId");
CREATE INDEX ix_projcdsintegrationjournalline_voucher ON "ProjCDSIntegrationJournalLine" ("Voucher");

-- Posted project transactions (the project subledger).
CREATE TABLE "ProjPostedTransTable" (
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "TransId" TEXT NOT NULL,
    "ActualId" UUID,
    "JournalId" TEXT,
    "ProjectId" UUID,
    "TaskId" UUID,
    "TransactionClassification" TEXT,
    "TransType" TEXT,
    "CategoryId" TEXT,
    "LinePropertyId" TEXT,
    "ResourceId" UUID,
    "Voucher" TEXT,
    "TransDate" DATE,
    "AccountingDate" DATE,
    "Quantity" NUMERIC(19,6),
    "CurrencyCode" TEXT,
    "ExchangeRate" NUMERIC(23,10),
    "AmountCur" NUMERIC(19,4),
    "AmountMST" NUMERIC(19,4),
    "SalesTaxAmount" NUMERIC(19,4),
    "DefaultDimensionDisplayValue" TEXT,
    "PostedDateTime" TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY ("DataAreaId", "TransId")
);
CREATE INDEX ix_projpostedtranstable_dataareaid_actualid ON "ProjPostedTransTable" ("DataAreaId", "ActualId");
CREATE INDEX ix_projpostedtranstable_voucher ON "ProjPostedTransTable" ("Voucher");

-- General ledger entries. Amounts are signed (debit positive, credit negative);
-- IsCredit tells the side.
CREATE TABLE "GeneralJournalAccountEntry" (
    "RecId" BIGINT GENERATED BY DEFAULT AS IDENTITY,
    "DataAreaId" TEXT NOT NULL,  -- legal entity
    "Voucher" TEXT NOT NULL,
    "AccountingDate" DATE NOT NULL,
    "MainAccount" TEXT NOT NULL,
    "LedgerDimensionDisplayValue" TEXT,
    "PostingType" TEXT,
    "TransactionCurrencyCode" TEXT NOT NULL,
    "TransactionCurrencyAmount" NUMERIC(19,4) NOT NULL,
    "AccountingCurrencyAmount" NUMERIC(19,4) NOT NULL,
    "IsCredit" BOOLEAN NOT NULL,
    "Text" TEXT,
    "ProjectId" UUID,
    "ActualId" UUID,
    "CreatedDateTime" TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY ("RecId")
);
CREATE INDEX ix_generaljournalaccountentry_dataareaid_voucher ON "GeneralJournalAccountEntry" ("DataAreaId", "Voucher");

-- Posted transaction relationships (related vouchers), from ProjCDSTransactionRelationshipImport.
CREATE TABLE "ProjPostedTransRelationship" (
    "ConnectionId" UUID NOT NULL,
    "Transaction1Id" UUID,
    "Transaction1DataAreaId" TEXT,
    "Transaction1Voucher" TEXT,
    "Transaction1Role" TEXT,
    "Transaction2Id" UUID,
    "Transaction2DataAreaId" TEXT,
    "Transaction2Voucher" TEXT,
    "Transaction2Role" TEXT,
    "PostedDateTime" TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY ("ConnectionId")
);
