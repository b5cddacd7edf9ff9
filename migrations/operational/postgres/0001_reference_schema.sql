-- operational/postgres/0001_reference_schema.sql (generated from one description for
-- both dialects; keep the SQLite and PostgreSQL versions in step).
--
-- Reference schema of the OPERATIONAL store (a Dataverse-like system: Project Operations).
-- Contracts, projects, tasks, estimates and actuals are created and deleted here. Table and
-- column names are Dataverse logical names; every table is keyed by a GUID. Company-scoped
-- tables carry msdyn_company, the legal-entity code (the accounting DataAreaId).
-- Foreign keys only where a parent owns its children (deleting it deletes them, as in
-- Dataverse); actuals, estimates' references and connections keep plain GUIDs.
--
-- Type conventions: NUMERIC(p,s) matching the table maps (amounts and prices 19,4; quantities
-- and hours 19,6; exchange rates 23,10), BOOLEAN, DATE, TIMESTAMPTZ, UUID, INTEGER for
-- option-set codes, BIGINT for counters. Mixed-case identifiers are quoted so they keep the
-- exact names the table maps use.

-- Legal entities (companies) known to the operational system.
CREATE TABLE cdm_companies (
    cdm_companyid UUID NOT NULL,
    cdm_companycode TEXT NOT NULL UNIQUE,  -- legal-entity code, the accounting DataAreaId (e.g. USPM)
    cdm_name TEXT,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (cdm_companyid)
);

-- Organizational units (contracting and resourcing units).
CREATE TABLE msdyn_organizationalunits (
    msdyn_organizationalunitid UUID NOT NULL,
    msdyn_name TEXT,
    msdyn_company TEXT,  -- legal-entity code of the unit
    transactioncurrencyid UUID,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (msdyn_organizationalunitid)
);

-- Customers (accounts). Synced by the customers map, outside this set.
CREATE TABLE accounts (
    accountid UUID NOT NULL,
    name TEXT,
    accountnumber TEXT,
    msdyn_company TEXT,  -- legal-entity code of the customer
    transactioncurrencyid UUID,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (accountid)
);

-- Currencies. A prerequisite, not synced by these maps.
CREATE TABLE transactioncurrencies (
    transactioncurrencyid UUID NOT NULL,
    isocurrencycode TEXT NOT NULL UNIQUE,
    currencyname TEXT,
    currencysymbol TEXT,
    currencyprecision INTEGER NOT NULL DEFAULT 2,
    exchangerate NUMERIC(23,10),  -- rate to the organization's base currency
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (transactioncurrencyid)
);

-- Project contracts (sales orders of order type Work based).
CREATE TABLE salesorders (
    salesorderid UUID NOT NULL,
    msdyn_company TEXT NOT NULL,  -- legal-entity code of the contract
    name TEXT,
    ordernumber TEXT,
    msdyn_ordertype INTEGER,  -- 192350000 Item based, 192350001 Work based (project contract), 690970002 Service-maintenance based
    customerid UUID,
    msdyn_contractorganizationalunitid UUID,
    transactioncurrencyid UUID,
    totalamount NUMERIC(19,4),
    requestdeliveryby DATE,
    msdyn_salestaxgroup TEXT,  -- mastered in the accounting system
    msdyn_financialdimensions TEXT,  -- mastered in the accounting system
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (salesorderid)
);

-- Project contract lines.
CREATE TABLE salesorderdetails (
    salesorderdetailid UUID NOT NULL,
    salesorderid UUID NOT NULL,
    msdyn_company TEXT NOT NULL,  -- legal-entity code (the contract's)
    productdescription TEXT,  -- name of the contract line
    msdyn_project UUID,
    msdyn_billingmethod INTEGER,  -- 192350000 Time and material, 192350001 Fixed price
    msdyn_includetime BOOLEAN NOT NULL DEFAULT false,
    msdyn_includeexpense BOOLEAN NOT NULL DEFAULT false,
    msdyn_includematerial BOOLEAN NOT NULL DEFAULT false,
    msdyn_includefee BOOLEAN NOT NULL DEFAULT false,
    extendedamount NUMERIC(19,4),
    transactioncurrencyid UUID,
    msdyn_financialdimensions TEXT,  -- mastered in the accounting system
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (salesorderdetailid),
    FOREIGN KEY (salesorderid) REFERENCES salesorders (salesorderid) ON DELETE CASCADE
);
CREATE INDEX ix_salesorderdetails_salesorderid ON salesorderdetails (salesorderid);

-- Project contract customers (funding sources) and their split-billing share.
CREATE TABLE msdyn_projectcontractsplitbillingrules (
    msdyn_projectcontractsplitbillingruleid UUID NOT NULL,
    msdyn_projectcontract UUID NOT NULL,
    msdyn_company TEXT NOT NULL,
    msdyn_name TEXT,
    msdyn_customer UUID,
    msdyn_allocation NUMERIC(5,2),  -- split-billing percentage; mastered here, never synced
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (msdyn_projectcontractsplitbillingruleid),
    FOREIGN KEY (msdyn_projectcontract) REFERENCES salesorders (salesorderid) ON DELETE CASCADE
);
CREATE INDEX ix_msdyn_projectcontractsplitbillingrules_msdyn_projectcontract ON msdyn_projectcontractsplitbillingrules (msdyn_projectcontract);

-- Billing milestones of fixed-price contract lines.
CREATE TABLE msdyn_contractlinescheduleofvalues (
    msdyn_contractlinescheduleofvalueid UUID NOT NULL,
    msdyn_contractline UUID NOT NULL,
    msdyn_company TEXT NOT NULL,
    msdyn_name TEXT,
    msdyn_milestonedate DATE,
    msdyn_amount NUMERIC(19,4),
    msdyn_invoicestatus INTEGER,  -- 192350000 Not ready for invoicing, 192350001 Ready for invoicing, 192350002 Customer invoice created, 192350003 Customer invoice posted
    transactioncurrencyid UUID,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (msdyn_contractlinescheduleofvalueid),
    FOREIGN KEY (msdyn_contractline) REFERENCES salesorderdetails (salesorderdetailid) ON DELETE CASCADE
);
CREATE INDEX ix_msdyn_contractlinescheduleofvalues_msdyn_contractline ON msdyn_contractlinescheduleofvalues (msdyn_contractline);

-- Projects.
CREATE TABLE msdyn_projects (
    msdyn_projectid UUID NOT NULL,
    msdyn_company TEXT NOT NULL,  -- legal-entity code of the project
    msdyn_subject TEXT,  -- project name
    msdyn_description TEXT,
    msdyn_customer UUID,
    msdyn_contractorganizationalunitid UUID,
    msdyn_scheduledstart DATE,
    msdyn_finish DATE,
    transactioncurrencyid UUID,
    msdyn_salestaxgroup TEXT,  -- mastered in the accounting system
    msdyn_financialdimensions TEXT,  -- mastered in the accounting system
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (msdyn_projectid)
);

-- Project tasks; a tree through msdyn_parenttask.
CREATE TABLE msdyn_projecttasks (
    msdyn_projecttaskid UUID NOT NULL,
    msdyn_project UUID NOT NULL,
    msdyn_parenttask UUID,
    msdyn_company TEXT NOT NULL,
    msdyn_subject TEXT,
    msdyn_wbsid TEXT,  -- outline number, e.g. 1.2.3
    msdyn_scheduledstart DATE,
    msdyn_scheduledend DATE,
    msdyn_effort NUMERIC(19,6),  -- hours
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (msdyn_projecttaskid),
    FOREIGN KEY (msdyn_project) REFERENCES msdyn_projects (msdyn_projectid) ON DELETE CASCADE,
    FOREIGN KEY (msdyn_parenttask) REFERENCES msdyn_projecttasks (msdyn_projecttaskid) ON DELETE CASCADE
);
CREATE INDEX ix_msdyn_projecttasks_msdyn_project ON msdyn_projecttasks (msdyn_project);
CREATE INDEX ix_msdyn_projecttasks_msdyn_parenttask ON msdyn_projecttasks (msdyn_parenttask);

-- Resource roles (not company-specific).
CREATE TABLE bookableresourcecategories (
    bookableresourcecategoryid UUID NOT NULL,
    name TEXT,
    description TEXT,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (bookableresourcecategoryid)
);

-- Transaction categories (not company-specific).
CREATE TABLE msdyn_transactioncategories (
    msdyn_transactioncategoryid UUID NOT NULL,
    msdyn_name TEXT,
    msdyn_description TEXT,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (msdyn_transactioncategoryid)
);

-- Resource assignments: labor (hour) estimates.
CREATE TABLE msdyn_resourceassignments (
    msdyn_resourceassignmentid UUID NOT NULL,
    msdyn_projectid UUID NOT NULL,
    msdyn_taskid UUID,
    msdyn_company TEXT NOT NULL,
    msdyn_bookableresourceid UUID,  -- named or generic resource; resources are not synced
    msdyn_name TEXT,
    msdyn_hours NUMERIC(19,6),
    msdyn_start DATE,
    msdyn_finish DATE,
    msdyn_plannedcost NUMERIC(19,4),
    msdyn_plannedsales NUMERIC(19,4),
    transactioncurrencyid UUID,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (msdyn_resourceassignmentid),
    FOREIGN KEY (msdyn_projectid) REFERENCES msdyn_projects (msdyn_projectid) ON DELETE CASCADE,
    FOREIGN KEY (msdyn_taskid) REFERENCES msdyn_projecttasks (msdyn_projecttaskid) ON DELETE CASCADE
);
CREATE INDEX ix_msdyn_resourceassignments_msdyn_projectid ON msdyn_resourceassignments (msdyn_projectid);
CREATE INDEX ix_msdyn_resourceassignments_msdyn_taskid ON msdyn_resourceassignments (msdyn_taskid);

-- Expense and material estimate lines; cost and sales estimates are separate rows.
CREATE TABLE msdyn_estimatelines (
    msdyn_estimatelineid UUID NOT NULL,
    msdyn_project UUID NOT NULL,
    msdyn_task UUID,
    msdyn_company TEXT NOT NULL,
    msdyn_description TEXT,
    msdyn_transactionclassification INTEGER NOT NULL,  -- 192350001 Expense, 192350002 Material (see msdyn_actuals)
    msdyn_transactiontypecode INTEGER,  -- 192350000 Cost, 192350005 Unbilled Sales
    msdyn_transactioncategory UUID,
    msdyn_product UUID,  -- material estimates: the product
    msdyn_billingtype INTEGER,
    msdyn_startdate DATE,
    msdyn_enddate DATE,
    msdyn_quantity NUMERIC(19,6),
    msdyn_price NUMERIC(19,4),
    msdyn_amount NUMERIC(19,4),
    transactioncurrencyid UUID,
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
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
    msdyn_actualid UUID NOT NULL,
    msdyn_company TEXT NOT NULL,  -- legal-entity code of the project
    msdyn_description TEXT,
    msdyn_externaldescription TEXT,
    msdyn_documentdate DATE,
    msdyn_startdatetime TIMESTAMPTZ,
    msdyn_enddatetime TIMESTAMPTZ,
    msdyn_accountingdate DATE,
    msdyn_quantity NUMERIC(19,6),
    msdyn_price NUMERIC(19,4),
    msdyn_amount NUMERIC(19,4),
    msdyn_amountmethod INTEGER,  -- 192350000 Multiply quantity by price, 192350001 Fixed price
    transactioncurrencyid UUID,
    exchangerate NUMERIC(23,10),  -- operational rate to the base currency; not synced
    msdyn_billingtype INTEGER,  -- 192350000 Non chargeable, 192350001 Chargeable, 192350002 Complimentary, 192350003 Not available
    msdyn_billingstatus INTEGER,  -- 192350000 Unbilled sales created, 192350001 Customer invoice created, 192350002 Customer invoice posted, 192350003 Canceled, 192350004 Ready to invoice
    msdyn_transactionclassification INTEGER NOT NULL,  -- 192350000 Time, 192350001 Expense, 192350002 Material, 192350003 Milestone, 192350004 Fee, 690970002 Tax
    msdyn_transactiontypecode INTEGER NOT NULL,  -- 192350000 Cost, 192350004 Project contract, 192350005 Unbilled sales, 192350006 Billed sales, 192350007 Resourcing unit cost, 192350008 Inter-organizational sales
    msdyn_project UUID,
    msdyn_task UUID,
    msdyn_transactioncategory UUID,
    msdyn_resourcecategory UUID,  -- role
    msdyn_bookableresource UUID,
    msdyn_salescontract UUID,
    msdyn_salescontractlineid UUID,
    msdyn_contractorganizationalunitid UUID,
    msdyn_resourceorganizationalunitid UUID,
    msdyn_accountcustomer UUID,  -- contract line customer
    msdyn_unit UUID,  -- unit of measure
    msdyn_skipsync BOOLEAN NOT NULL DEFAULT false,  -- Skip Sync (internal use only): true for intercompany cost and negative unbilled sales
    msdyn_accountingamount NUMERIC(19,4),  -- written back: amount in accounting currency
    msdyn_accountingexchangerate NUMERIC(23,10),  -- written back: exchange rate used at posting
    msdyn_vouchernumber TEXT,  -- written back: voucher
    msdyn_salestaxamount NUMERIC(19,4),  -- written back: sales tax amount
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (msdyn_actualid)
);
CREATE INDEX ix_msdyn_actuals_msdyn_project ON msdyn_actuals (msdyn_project);
CREATE INDEX ix_msdyn_actuals_msdyn_company_msdyn_accountingdate ON msdyn_actuals (msdyn_company, msdyn_accountingdate);

-- Links between two transactions (cost <-> unbilled sales, unbilled <-> billed sales).
CREATE TABLE msdyn_transactionconnections (
    msdyn_transactionconnectionid UUID NOT NULL,
    msdyn_transaction1 UUID NOT NULL,
    msdyn_transaction1role INTEGER,  -- transaction type code of transaction 1 (msdyn_transactiontypecode values)
    msdyn_transaction1type TEXT,  -- entity of transaction 1, e.g. msdyn_actual
    msdyn_transaction2 UUID NOT NULL,
    msdyn_transaction2role INTEGER,  -- transaction type code of transaction 2
    msdyn_transaction2type TEXT,  -- entity of transaction 2, e.g. msdyn_actual
    statecode INTEGER NOT NULL DEFAULT 0,  -- 0 Active, 1 Inactive
    statuscode INTEGER NOT NULL DEFAULT 1,  -- 1 Active, 2 Inactive
    createdon TIMESTAMPTZ NOT NULL DEFAULT now(),
    modifiedon TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (msdyn_transactionconnectionid)
);
CREATE INDEX ix_msdyn_transactionconnections_msdyn_transaction1 ON msdyn_transactionconnections (msdyn_transaction1);
CREATE INDEX ix_msdyn_transactionconnections_msdyn_transaction2 ON msdyn_transactionconnections (msdyn_transaction2);
