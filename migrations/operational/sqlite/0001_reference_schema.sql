-- operational/sqlite/0001_reference_schema.sql (generated from one description for
-- both dialects; keep the SQLite and PostgreSQL versions in step).
--
-- Reference schema of the OPERATIONAL store (a Dataverse-like system: Project Operations).
-- Contracts, projects, tasks, estimates and actuals are created and deleted here. Table and
-- column names are Dataverse logical names; every table is keyed by a GUID. Company-scoped
-- tables carry msdyn_company, the legal-entity code (the accounting DataAreaId).
-- Foreign keys only where a parent owns its children (deleting it deletes them, as in
-- Dataverse); actuals, estimates' references and connections keep plain GUIDs.
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

-- Legal entities (companies) known to the operational system.
CREATE TABLE cdm_companies (
    cdm_companyid TEXT NOT NULL,
    cdm_companycode TEXT NOT NULL UNIQUE,  -- legal-entity code, the accounting DataAreaId (e.g. USPM)
    cdm_name TEXT,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (cdm_companyid)
);

-- Organizational units (contracting and resourcing units).
CREATE TABLE msdyn_organizationalunits (
    msdyn_organizationalunitid TEXT NOT NULL,
    msdyn_name TEXT,
    msdyn_company TEXT,  -- legal-entity code of the unit
    transactioncurrencyid TEXT,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (msdyn_organizationalunitid)
);

-- Customers (accounts). Synced by the customers map, outside this set.
CREATE TABLE accounts (
    accountid TEXT NOT NULL,
    name TEXT,
    accountnumber TEXT,
    msdyn_company TEXT,  -- legal-entity code of the customer
    transactioncurrencyid TEXT,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (accountid)
);

-- Currencies. A prerequisite, not synced by these maps.
CREATE TABLE transactioncurrencies (
    transactioncurrencyid TEXT NOT NULL,
    isocurrencycode TEXT NOT NULL UNIQUE,
    currencyname TEXT,
    currencysymbol TEXT,
    currencyprecision INTEGER NOT NULL DEFAULT 2,
    exchangerate TEXT,  -- rate to the organization's base currency
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (transactioncurrencyid)
);

-- Project contracts (sales orders of order type Work based).
CREATE TABLE salesorders (
    salesorderid TEXT NOT NULL,
    msdyn_company TEXT NOT NULL,  -- legal-entity code of the contract
    name TEXT,
    ordernumber TEXT,
    msdyn_ordertype INTEGER,  -- 192350000 Item based, 192350001 Work based (project contract), 690970002 Service-maintenance based
    customerid TEXT,
    msdyn_contractorganizationalunitid TEXT,
    transactioncurrencyid TEXT,
    totalamount TEXT,
    requestdeliveryby TEXT,
    msdyn_salestaxgroup TEXT,  -- mastered in the accounting system
    msdyn_financialdimensions TEXT,  -- mastered in the accounting system
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (salesorderid)
);

-- Project contract lines.
CREATE TABLE salesorderdetails (
    salesorderdetailid TEXT NOT NULL,
    salesorderid TEXT NOT NULL,
    msdyn_company TEXT NOT NULL,  -- legal-entity code (the contract's)
    productdescription TEXT,  -- name of the contract line
    msdyn_project TEXT,
    msdyn_billingmethod INTEGER,  -- 192350000 Time and material, 192350001 Fixed price
    msdyn_includetime INTEGER NOT NULL DEFAULT 0 CHECK (msdyn_includetime IN (0, 1)),
    msdyn_includeexpense INTEGER NOT NULL DEFAULT 0 CHECK (msdyn_includeexpense IN (0, 1)),
    msdyn_includematerial INTEGER NOT NULL DEFAULT 0 CHECK (msdyn_includematerial IN (0, 1)),
    msdyn_includefee INTEGER NOT NULL DEFAULT 0 CHECK (msdyn_includefee IN (0, 1)),
    extendedamount TEXT,
    transactioncurrencyid TEXT,
    msdyn_financialdimensions TEXT,  -- mastered in the accounting system
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (salesorderdetailid),
    FOREIGN KEY (salesorderid) REFERENCES salesorders (salesorderid) ON DELETE CASCADE
);
CREATE INDEX ix_salesorderdetails_salesorderid ON salesorderdetails (salesorderid);

-- Project contract customers (funding sources) and their split-billing share.
CREATE TABLE msdyn_projectcontractsplitbillingrules (
    msdyn_projectcontractsplitbillingruleid TEXT NOT NULL,
    msdyn_projectcontract TEXT NOT NULL,
    msdyn_company TEXT NOT NULL,
    msdyn_name TEXT,
    msdyn_customer TEXT,
    msdyn_allocation TEXT,  -- split-billing percentage; mastered here, never synced
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (msdyn_projectcontractsplitbillingruleid),
    FOREIGN KEY (msdyn_projectcontract) REFERENCES salesorders (salesorderid) ON DELETE CASCADE
);
CREATE INDEX ix_msdyn_projectcontractsplitbillingrules_msdyn_projectcontract ON msdyn_projectcontractsplitbillingrules (msdyn_projectcontract);

-- Billing milestones of fixed-price contract lines.
CREATE TABLE msdyn_contractlinescheduleofvalues (
    msdyn_contractlinescheduleofvalueid TEXT NOT NULL,
    msdyn_contractline TEXT NOT NULL,
    msdyn_company TEXT NOT NULL,
    msdyn_name TEXT,
    msdyn_milestonedate TEXT,
    msdyn_amount TEXT,
    msdyn_invoicestatus INTEGER,  -- 192350000 Not ready for invoicing, 192350001 Ready for invoicing, 192350002 Customer invoice created, 192350003 Customer invoice posted
    transactioncurrencyid TEXT,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (msdyn_contractlinescheduleofvalueid),
    FOREIGN KEY (msdyn_contractline) REFERENCES salesorderdetails (salesorderdetailid) ON DELETE CASCADE
);
CREATE INDEX ix_msdyn_contractlinescheduleofvalues_msdyn_contractline ON msdyn_contractlinescheduleofvalues (msdyn_contractline);

-- Projects.
CREATE TABLE msdyn_projects (
    msdyn_projectid TEXT NOT NULL,
    msdyn_company TEXT NOT NULL,  -- legal-entity code of the project
    msdyn_subject TEXT,  -- project name
    msdyn_description TEXT,
    msdyn_customer TEXT,
    msdyn_contractorganizationalunitid TEXT,
    msdyn_scheduledstart TEXT,
    msdyn_finish TEXT,
    transactioncurrencyid TEXT,
    msdyn_salestaxgroup TEXT,  -- mastered in the accounting system
    msdyn_financialdimensions TEXT,  -- mastered in the accounting system
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (msdyn_projectid)
);

-- Project tasks; a tree through msdyn_parenttask.
CREATE TABLE msdyn_projecttasks (
    msdyn_projecttaskid TEXT NOT NULL,
    msdyn_project TEXT NOT NULL,
    msdyn_parenttask TEXT,
    msdyn_company TEXT NOT NULL,
    msdyn_subject TEXT,
    msdyn_wbsid TEXT,  -- outline number, e.g. 1.2.3
    msdyn_scheduledstart TEXT,
    msdyn_scheduledend TEXT,
    msdyn_effort TEXT,  -- hours
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (msdyn_projecttaskid),
    FOREIGN KEY (msdyn_project) REFERENCES msdyn_projects (msdyn_projectid) ON DELETE CASCADE,
    FOREIGN KEY (msdyn_parenttask) REFERENCES msdyn_projecttasks (msdyn_projecttaskid) ON DELETE CASCADE
);
CREATE INDEX ix_msdyn_projecttasks_msdyn_project ON msdyn_projecttasks (msdyn_project);
CREATE INDEX ix_msdyn_projecttasks_msdyn_parenttask ON msdyn_projecttasks (msdyn_parenttask);

-- Resource roles (not company-specific).
CREATE TABLE bookableresourcecategories (
    bookableresourcecategoryid TEXT NOT NULL,
    name TEXT,
    description TEXT,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (bookableresourcecategoryid)
);

-- Transaction categories (not company-specific).
CREATE TABLE msdyn_transactioncategories (
    msdyn_transactioncategoryid TEXT NOT NULL,
    msdyn_name TEXT,
    msdyn_description TEXT,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (msdyn_transactioncategoryid)
);

-- Resource assignments: labor (hour) estimates.
CREATE TABLE msdyn_resourceassignments (
    msdyn_resourceassignmentid TEXT NOT NULL,
    msdyn_projectid TEXT NOT NULL,
    msdyn_taskid TEXT,
    msdyn_company TEXT NOT NULL,
    msdyn_bookableresourceid TEXT,  -- named or generic resource; resources are not synced
    msdyn_name TEXT,
    msdyn_hours TEXT,
    msdyn_start TEXT,
    msdyn_finish TEXT,
    msdyn_plannedcost TEXT,
    msdyn_plannedsales TEXT,
    transactioncurrencyid TEXT,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (msdyn_resourceassignmentid),
    FOREIGN KEY (msdyn_projectid) REFERENCES msdyn_projects (msdyn_projectid) ON DELETE CASCADE,
    FOREIGN KEY (msdyn_taskid) REFERENCES msdyn_projecttasks (msdyn_projecttaskid) ON DELETE CASCADE
);
CREATE INDEX ix_msdyn_resourceassignments_msdyn_projectid ON msdyn_resourceassignments (msdyn_projectid);
CREATE INDEX ix_msdyn_resourceassignments_msdyn_taskid ON msdyn_resourceassignments (msdyn_taskid);

-- Expense and material estimate lines; cost and sales estimates are separate rows.
CREATE TABLE msdyn_estimatelines (
    msdyn_estimatelineid TEXT NOT NULL,
    msdyn_project TEXT NOT NULL,
    msdyn_task TEXT,
    msdyn_company TEXT NOT NULL,
    msdyn_description TEXT,
    msdyn_transactionclassification INTEGER NOT NULL,  -- 192350001 Expense, 192350002 Material (see msdyn_actuals)
    msdyn_transactiontypecode INTEGER,  -- 192350000 Cost, 192350005 Unbilled Sales
    msdyn_transactioncategory TEXT,
    msdyn_product TEXT,  -- material estimates: the product
    msdyn_billingtype INTEGER,
    msdyn_startdate TEXT,
    msdyn_enddate TEXT,
    msdyn_quantity TEXT,
    msdyn_price TEXT,
    msdyn_amount TEXT,
    transactioncurrencyid TEXT,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (msdyn_estimatelineid),
    FOREIGN KEY (msdyn_project) REFERENCES msdyn_projects (msdyn_projectid) ON DELETE CASCADE,
    FOREIGN KEY (msdyn_task) REFERENCES msdyn_projecttasks (msdyn_projecttaskid) ON DELETE CASCADE
);
CREATE INDEX ix_msdyn_estimatelines_msdyn_project ON msdyn_estimatelines (msdyn_project);
CREATE INDEX ix_msdyn_estimatelines_msdyn_transactionclassification ON msdyn_estimatelines (msdyn_transactionclassification);

-- Project actuals: cost and revenue transactions. Immutable once created, except the
-- accounting attributes written back after posting. No foreign keys: an actual keeps
-- its references even when the referenced records change.
CREATE TABLE msdyn_actuals (
    msdyn_actualid TEXT NOT NULL,
    msdyn_company TEXT NOT NULL,  -- legal-entity code of the project
    msdyn_description TEXT,
    msdyn_externaldescription TEXT,
    msdyn_documentdate TEXT,
    msdyn_startdatetime TEXT,
    msdyn_enddatetime TEXT,
    msdyn_accountingdate TEXT,
    msdyn_quantity TEXT,
    msdyn_price TEXT,
    msdyn_amount TEXT,
    msdyn_amountmethod INTEGER,  -- 192350000 Multiply quantity by price, 192350001 Fixed price
    transactioncurrencyid TEXT,
    exchangerate TEXT,  -- operational rate to the base currency; not synced
    msdyn_billingtype INTEGER,  -- 192350000 Non chargeable, 192350001 Chargeable, 192350002 Complimentary, 192350003 Not available
    msdyn_billingstatus INTEGER,  -- 192350000 Unbilled sales created, 192350001 Customer invoice created, 192350002 Customer invoice posted, 192350003 Canceled, 192350004 Ready to invoice
    msdyn_transactionclassification INTEGER NOT NULL,  -- 192350000 Time, 192350001 Expense, 192350002 Material, 192350003 Milestone, 192350004 Fee, 690970002 Tax
    msdyn_transactiontypecode INTEGER NOT NULL,  -- 192350000 Cost, 192350004 Project contract, 192350005 Unbilled sales, 192350006 Billed sales, 192350007 Resourcing unit cost, 192350008 Inter-organizational sales
    msdyn_project TEXT,
    msdyn_task TEXT,
    msdyn_transactioncategory TEXT,
    msdyn_resourcecategory TEXT,  -- role
    msdyn_bookableresource TEXT,
    msdyn_salescontract TEXT,
    msdyn_salescontractlineid TEXT,
    msdyn_contractorganizationalunitid TEXT,
    msdyn_resourceorganizationalunitid TEXT,
    msdyn_accountcustomer TEXT,  -- contract line customer
    msdyn_unit TEXT,  -- unit of measure
    msdyn_skipsync INTEGER NOT NULL DEFAULT 0 CHECK (msdyn_skipsync IN (0, 1)),  -- Skip Sync (internal use only): true for intercompany cost and negative unbilled sales
    msdyn_accountingamount TEXT,  -- written back: amount in accounting currency
    msdyn_accountingexchangerate TEXT,  -- written back: exchange rate used at posting
    msdyn_vouchernumber TEXT,  -- written back: voucher
    msdyn_salestaxamount TEXT,  -- written back: sales tax amount
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (msdyn_actualid)
);
CREATE INDEX ix_msdyn_actuals_msdyn_project ON msdyn_actuals (msdyn_project);
CREATE INDEX ix_msdyn_actuals_msdyn_company_msdyn_accountingdate ON msdyn_actuals (msdyn_company, msdyn_accountingdate);

-- Links between two transactions (cost <-> unbilled sales, unbilled <-> billed sales).
CREATE TABLE msdyn_transactionconnections (
    msdyn_transactionconnectionid TEXT NOT NULL,
    msdyn_transaction1 TEXT NOT NULL,
    msdyn_transaction1role INTEGER,  -- transaction type code of transaction 1 (msdyn_transactiontypecode values)
    msdyn_transaction1type TEXT,  -- entity of transaction 1, e.g. msdyn_actual
    msdyn_transaction2 TEXT NOT NULL,
    msdyn_transaction2role INTEGER,  -- transaction type code of transaction 2
    msdyn_transaction2type TEXT,  -- entity of transaction 2, e.g. msdyn_actual
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    modifiedon TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (msdyn_transactionconnectionid)
);
CREATE INDEX ix_msdyn_transactionconnections_msdyn_transaction1 ON msdyn_transactionconnections (msdyn_transaction1);
CREATE INDEX ix_msdyn_transactionconnections_msdyn_transaction2 ON msdyn_transactionconnections (msdyn_transaction2);
