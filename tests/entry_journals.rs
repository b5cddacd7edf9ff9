//! Entry journals on the operational reference store, on SQLite and on PostgreSQL, with the demo
//! data (its price lists and one draft journal per legal entity). Covers: confirming records one
//! actual per line with the contract, contract line and customer worked out from the project and
//! class, the price defaulted from the cost or sales price list (or the contract's), the amount
//! by the amount method, unbilled sales marked as such, no transaction connections; the journal
//! locked by the store afterwards and not confirmed twice; a journal with problems (a type not
//! available when integrated, a Milestone not billed, an unpaired Retainer, an ambiguous contract
//! line, no quantity, no price to default, another legal entity's project) confirmed not at all,
//! every problem named; and the stricter rules of "journal line improvements" as an option.

mod common;

use common::TestStore;
use common::books::{day, fetch, money};
use dualsync::accounting::db::{self, Db};
use dualsync::demo::{SeedOptions, load};
use dualsync::operational::journal::{self, Which};
use dualsync::store::sql::conn::Arg;
use dualsync::tablemap::model::Side;
use dualsync::value::ValueType;
use rust_decimal::Decimal;
use uuid::Uuid;

const TIME: i64 = 192_350_000;
const MATERIAL: i64 = 192_350_002;
const MILESTONE: i64 = 192_350_003;
const RETAINER: i64 = 690_970_100;
const COST: i64 = 192_350_000;
const UNBILLED: i64 = 192_350_005;
const BILLED: i64 = 192_350_006;
const INTERORG: i64 = 192_350_008;
const FIXED: i64 = 192_350_001;

async fn seeded(t: &TestStore) -> Db {
    load::seed(&t.store, Side::Operational, &SeedOptions { actuals: 50, seed: 7 })
        .await
        .unwrap();
    Db::new(&t.store)
}

async fn one_guid(db: &Db, sql: &str, args: &[Arg]) -> Uuid {
    fetch(db, sql, args, &[ValueType::Guid]).await.remove(0).guid().unwrap()
}

async fn count(db: &Db, sql: &str, args: &[Arg]) -> i64 {
    fetch(db, sql, args, &[ValueType::Int]).await.remove(0).int().unwrap()
}

/// A journal line to insert: the columns that vary.
#[derive(Clone)]
struct L {
    class: i64,
    ttype: i64,
    project: Uuid,
    role: Option<Uuid>,
    product: Option<Uuid>,
    contract_line: Option<Uuid>,
    method: i64,
    quantity: Option<&'static str>,
    price: Option<&'static str>,
    amount: Option<&'static str>,
}

fn line(class: i64, ttype: i64, project: Uuid) -> L {
    L {
        class,
        ttype,
        project,
        role: None,
        product: None,
        contract_line: None,
        method: 192_350_000,
        quantity: Some("8"),
        price: Some("100.00"),
        amount: None,
    }
}

async fn new_journal(db: &Db, company: &str, lines: &[L]) -> Uuid {
    let journal = Uuid::new_v4();
    db.execute(
        "INSERT INTO msdyn_journals (msdyn_journalid, msdyn_description, msdyn_company) VALUES (?, 'test', ?)",
        &[db::guid(journal), db::text(company)],
    )
    .await
    .unwrap();
    for (n, l) in lines.iter().enumerate() {
        let dec = |s: Option<&str>| db::opt_dec(s.map(money));
        db.execute(
            "INSERT INTO msdyn_journallines (msdyn_journallineid, msdyn_journal, msdyn_linenumber, \
             msdyn_transactionclassification, msdyn_transactiontypecode, msdyn_project, msdyn_resourcecategory, \
             msdyn_product, msdyn_salescontractlineid, msdyn_amountmethod, msdyn_quantity, msdyn_price, msdyn_amount, \
             msdyn_description, msdyn_documentdate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'a line', ?)",
            &[
                db::guid(Uuid::new_v4()),
                db::guid(journal),
                db::int(n as i64 + 1),
                db::int(l.class),
                db::int(l.ttype),
                db::guid(l.project),
                db::opt_guid(l.role),
                db::opt_guid(l.product),
                db::opt_guid(l.contract_line),
                db::int(l.method),
                dec(l.quantity),
                dec(l.price),
                dec(l.amount),
                db::date(day("2026-08-05")),
            ],
        )
        .await
        .unwrap();
    }
    journal
}

async fn status_of(db: &Db, journal: Uuid) -> i64 {
    count(
        db,
        "SELECT msdyn_journalstatus FROM msdyn_journals WHERE msdyn_journalid = ?",
        &[db::guid(journal)],
    )
    .await
}

both!(ej_demo_journals_confirm, Side::Operational, |t: TestStore| async move {
    let db = seeded(&t).await;
    let connections = count(&db, "SELECT COUNT(*) FROM msdyn_transactionconnections", &[]).await;
    let actuals = count(&db, "SELECT COUNT(*) FROM msdyn_actuals", &[]).await;
    let lines = count(&db, "SELECT COUNT(*) FROM msdyn_journallines", &[]).await;
    let done = journal::confirm(&db, &Which::All { company: None }, false)
        .await
        .unwrap();
    assert!(done.refused.is_empty(), "{done}");
    assert_eq!((done.journals, done.actuals as i64), (2, lines));
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM msdyn_actuals", &[]).await,
        actuals + lines
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM msdyn_transactionconnections", &[]).await,
        connections,
        "entry journals make no transaction connections"
    );
    // Each line's actual: the worked-out contract line (the project's time-and-material line,
    // the only one), the contract's one customer, the price list's price, quantity x price.
    use ValueType::{Decimal as D, Guid as G, Int, Text};
    let rows = fetch(
        &db,
        "SELECT l.msdyn_journal, a.msdyn_transactionclassification, a.msdyn_transactiontypecode, a.msdyn_quantity, \
         a.msdyn_price, a.msdyn_amount, a.msdyn_salescontractlineid, a.msdyn_accountcustomer, a.msdyn_billingstatus, \
         a.msdyn_resourcecategory, a.msdyn_company, l.msdyn_extendedamount, a.msdyn_project \
         FROM msdyn_journallines l JOIN msdyn_actuals a ON a.msdyn_actualid = l.msdyn_actual",
        &[],
        &[G, Int, Int, D, D, D, G, G, Int, G, Text, D, G],
    )
    .await;
    assert_eq!(rows.len() as i64, lines);
    for mut r in rows {
        let (_journal, class, ttype) = (r.guid(), r.int().unwrap(), r.int().unwrap());
        let (qty, price, amount) = (r.dec().unwrap(), r.dec().unwrap(), r.dec().unwrap());
        let (contract_line, customer, billing_status, role) = (r.guid(), r.guid(), r.int(), r.guid());
        let (company, extended, project) = (r.text().unwrap(), r.dec().unwrap(), r.guid().unwrap());
        assert_eq!(amount, qty * price, "amount = quantity x price");
        assert_eq!(extended, amount, "no tax entered");
        let tm_line = one_guid(
            &db,
            "SELECT salesorderdetailid FROM salesorderdetails WHERE msdyn_project = ? AND msdyn_billingmethod = 192350000",
            &[db::guid(project)],
        )
        .await;
        assert_eq!(contract_line, Some(tm_line));
        assert!(customer.is_some(), "the contract's customer");
        assert_eq!(billing_status.is_some(), ttype == UNBILLED, "unbilled sales created");
        let context = if ttype == COST { 192_350_000 } else { 192_350_001 };
        let listed =
            match class {
                TIME => {
                    fetch(
                        &db,
                        "SELECT p.msdyn_price FROM msdyn_resourcecategorypricelevels p JOIN pricelevels l \
                 ON l.pricelevelid = p.msdyn_pricelist WHERE l.msdyn_company = ? AND l.msdyn_context = ? \
                 AND p.msdyn_resourcecategory = ?",
                        &[db::text(&company), db::int(context), db::opt_guid(role)],
                        &[D],
                    )
                    .await
                }
                MATERIAL => fetch(
                    &db,
                    "SELECT p.amount FROM productpricelevels p JOIN pricelevels l ON l.pricelevelid = p.pricelevelid \
                 JOIN msdyn_journallines j ON j.msdyn_product = p.productid \
                 JOIN msdyn_actuals a ON a.msdyn_actualid = j.msdyn_actual \
                 WHERE l.msdyn_company = ? AND l.msdyn_context = ? AND a.msdyn_transactiontypecode = ?",
                    &[db::text(&company), db::int(context), db::int(ttype)],
                    &[D],
                )
                .await,
                _ => {
                    fetch(
                        &db,
                        "SELECT p.msdyn_price FROM msdyn_transactioncategorypricelevels p JOIN pricelevels l \
                 ON l.pricelevelid = p.msdyn_pricelist JOIN msdyn_transactioncategories c \
                 ON c.msdyn_transactioncategoryid = p.msdyn_transactioncategory \
                 WHERE l.msdyn_company = ? AND l.msdyn_context = ? AND c.msdyn_name = 'Travel'",
                        &[db::text(&company), db::int(context)],
                        &[D],
                    )
                    .await
                }
            };
        assert_eq!(
            listed.into_iter().next().and_then(|mut c| c.dec()),
            Some(price),
            "class {class} type {ttype}"
        );
    }
    // Locked: no change to a confirmed journal or its lines, no new line, no delete.
    let journal = one_guid(
        &db,
        "SELECT msdyn_journalid FROM msdyn_journals WHERE msdyn_company = 'USPM'",
        &[],
    )
    .await;
    for sql in [
        "UPDATE msdyn_journallines SET msdyn_quantity = 9 WHERE msdyn_journal = ?",
        "DELETE FROM msdyn_journallines WHERE msdyn_journal = ?",
        "UPDATE msdyn_journals SET msdyn_description = 'x' WHERE msdyn_journalid = ?",
        "DELETE FROM msdyn_journals WHERE msdyn_journalid = ?",
    ] {
        let e = db.execute(sql, &[db::guid(journal)]).await.unwrap_err().to_string();
        assert!(
            e.contains("a confirmed entry journal and its lines can no longer be changed"),
            "{sql}: {e}"
        );
    }
    let project = one_guid(
        &db,
        "SELECT msdyn_project FROM msdyn_journallines WHERE msdyn_journal = ? AND msdyn_linenumber = 1",
        &[db::guid(journal)],
    )
    .await;
    let e = db
        .execute(
            "INSERT INTO msdyn_journallines (msdyn_journallineid, msdyn_journal, msdyn_transactionclassification, \
             msdyn_transactiontypecode, msdyn_project) VALUES (?, ?, 192350000, 192350000, ?)",
            &[db::guid(Uuid::new_v4()), db::guid(journal), db::guid(project)],
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("can no longer be changed"), "{e}");
    // Confirming again: nothing; naming it: already confirmed.
    let again = journal::confirm(&db, &Which::All { company: None }, false)
        .await
        .unwrap();
    assert_eq!((again.journals, again.actuals), (0, 0));
    let named = journal::confirm(&db, &Which::Named(vec![journal]), false)
        .await
        .unwrap();
    assert_eq!(named.refused.len(), 1);
    assert!(named.refused[0].contains("already confirmed"), "{named}");
});

/// A USPM project with a fixed-price line too, and one without; a DEMF project; a role; a product.
async fn fixtures(db: &Db) -> (Uuid, Uuid, Uuid, Uuid, Uuid) {
    let with_fp = one_guid(
        db,
        "SELECT msdyn_project FROM salesorderdetails WHERE msdyn_company = 'USPM' AND msdyn_billingmethod = 192350001 \
         ORDER BY msdyn_project",
        &[],
    )
    .await;
    let plain = one_guid(
        db,
        "SELECT p.msdyn_projectid FROM msdyn_projects p WHERE p.msdyn_company = 'USPM' AND NOT EXISTS (SELECT 1 FROM \
         salesorderdetails d WHERE d.msdyn_project = p.msdyn_projectid AND d.msdyn_billingmethod = 192350001) \
         ORDER BY p.msdyn_projectid",
        &[],
    )
    .await;
    let demf = one_guid(
        db,
        "SELECT msdyn_projectid FROM msdyn_projects WHERE msdyn_company = 'DEMF' ORDER BY msdyn_projectid",
        &[],
    )
    .await;
    let role = one_guid(
        db,
        "SELECT bookableresourcecategoryid FROM bookableresourcecategories ORDER BY name",
        &[],
    )
    .await;
    let product = one_guid(db, "SELECT productid FROM productpricelevels ORDER BY productid", &[]).await;
    (with_fp, plain, demf, role, product)
}

both!(
    ej_problems_keep_the_journal_a_draft,
    Side::Operational,
    |t: TestStore| async move {
        let db = seeded(&t).await;
        let (with_fp, plain, demf, role, _) = fixtures(&db).await;
        let actuals = count(&db, "SELECT COUNT(*) FROM msdyn_actuals", &[]).await;
        let mut unpriced = line(TIME, COST, plain);
        unpriced.price = None; // and no role to look a price up by
        let mut no_quantity = line(TIME, COST, plain);
        no_quantity.quantity = None;
        let mut ambiguous = line(TIME, UNBILLED, with_fp);
        ambiguous.role = Some(role);
        let lines = [
            line(TIME, COST, plain),
            line(TIME, INTERORG, plain),
            line(MILESTONE, UNBILLED, with_fp),
            line(RETAINER, BILLED, plain),
            ambiguous,
            no_quantity,
            unpriced,
            line(TIME, COST, demf),
        ];
        let journal = new_journal(&db, "USPM", &lines).await;
        let done = journal::confirm(&db, &Which::Named(vec![journal]), false)
            .await
            .unwrap();
        assert_eq!(done.journals, 0);
        let expect = [
            "line 2: transaction type InterOrganizationalSales is available on entry journals only in the Core scenario",
            "line 3: a Milestone line is Billed Sales only",
            "line 5: 2 contract lines of the project take Time; choose one",
            "line 6: no quantity",
            "line 7: no price and no role to look one up by",
            "line 8: the project",
            "Retainer lines come as pairs of unbilled and billed sales",
        ];
        for e in expect {
            assert_eq!(
                done.refused.iter().filter(|r| r.contains(e)).count(),
                1,
                "{e} in {done}"
            );
        }
        assert_eq!(done.refused.len(), expect.len(), "{done}");
        assert!(done.refused.iter().all(|r| r.contains(&journal.to_string())));
        assert_eq!(status_of(&db, journal).await, 192_350_000, "still a draft");
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM msdyn_actuals", &[]).await,
            actuals,
            "no actual recorded"
        );
    }
);

both!(
    ej_prices_methods_and_strict_rules,
    Side::Operational,
    |t: TestStore| async move {
        let db = seeded(&t).await;
        let (with_fp, plain, _, role, product) = fixtures(&db).await;
        let tm_line = one_guid(
        &db,
        "SELECT salesorderdetailid FROM salesorderdetails WHERE msdyn_project = ? AND msdyn_billingmethod = 192350000",
        &[db::guid(with_fp)],
    )
    .await;
        // A contract's own sales price list wins over the legal entity's.
        let contract = one_guid(
            &db,
            "SELECT salesorderid FROM salesorderdetails WHERE salesorderdetailid = ?",
            &[db::guid(tm_line)],
        )
        .await;
        let (list, usd) = (
            Uuid::new_v4(),
            one_guid(
                &db,
                "SELECT transactioncurrencyid FROM msdyn_projects WHERE msdyn_projectid = ?",
                &[db::guid(with_fp)],
            )
            .await,
        );
        db.execute(
        "INSERT INTO pricelevels (pricelevelid, name, msdyn_context, transactioncurrencyid) VALUES (?, 'special', 192350001, ?)",
        &[db::guid(list), db::guid(usd)],
    )
    .await
    .unwrap();
        db.execute(
            "INSERT INTO msdyn_resourcecategorypricelevels (msdyn_resourcecategorypricelevelid, msdyn_pricelist, \
         msdyn_resourcecategory, msdyn_price) VALUES (?, ?, ?, ?)",
            &[
                db::guid(Uuid::new_v4()),
                db::guid(list),
                db::guid(role),
                db::dec(money("222.50")),
            ],
        )
        .await
        .unwrap();
        db.execute(
            "UPDATE salesorders SET pricelevelid = ? WHERE salesorderid = ?",
            &[db::guid(list), db::guid(contract)],
        )
        .await
        .unwrap();
        let mut sales = line(TIME, UNBILLED, with_fp);
        (sales.role, sales.price, sales.contract_line) = (Some(role), None, Some(tm_line));
        let mut fixed = line(MATERIAL, COST, plain);
        (fixed.product, fixed.method, fixed.quantity, fixed.price, fixed.amount) =
            (Some(product), FIXED, Some("3"), None, Some("999.99"));
        // Allowed by entry journals' own rules, refused by "journal line improvements": a milestone on
        // a time-and-material line, and a product on a time line.
        let mut milestone = line(MILESTONE, BILLED, with_fp);
        milestone.contract_line = Some(tm_line);
        let mut time_with_product = line(TIME, COST, plain);
        time_with_product.product = Some(product);
        let strict_only = [milestone, time_with_product];
        let loose = new_journal(
            &db,
            "USPM",
            &[
                sales.clone(),
                fixed.clone(),
                strict_only[0].clone(),
                strict_only[1].clone(),
            ],
        )
        .await;
        let strict = new_journal(
            &db,
            "USPM",
            &[sales, fixed, strict_only[0].clone(), strict_only[1].clone()],
        )
        .await;
        let done = journal::confirm(&db, &Which::Named(vec![strict]), true).await.unwrap();
        assert_eq!(done.journals, 0);
        assert_eq!(done.refused.len(), 2, "{done}");
        assert!(
            done.refused[0].contains("line 3: journal line improvements: transaction class Milestone is not allowed"),
            "{done}"
        );
        assert!(
            done.refused[1].contains("line 4: journal line improvements: a Time line cannot have a product"),
            "{done}"
        );
        let done = journal::confirm(&db, &Which::Named(vec![loose]), false).await.unwrap();
        assert!(done.refused.is_empty() && done.journals == 1, "{done}");
        use ValueType::Decimal as D;
        let priced = |n: i64| {
            let db = &db;
            async move {
                let mut c = fetch(
                db,
                "SELECT a.msdyn_quantity, a.msdyn_price, a.msdyn_amount FROM msdyn_journallines l JOIN msdyn_actuals a \
                 ON a.msdyn_actualid = l.msdyn_actual WHERE l.msdyn_journal = ? AND l.msdyn_linenumber = ?",
                &[db::guid(loose), db::int(n)],
                &[D, D, D],
            )
            .await
            .remove(0);
                (c.dec(), c.dec(), c.dec())
            }
        };
        let eight = Decimal::from(8);
        assert_eq!(
            priced(1).await,
            (Some(eight), Some(money("222.50")), Some(money("1780.00"))),
            "the contract's list"
        );
        assert_eq!(
            priced(2).await,
            (Some(Decimal::from(3)), Some(money("999.99")), Some(money("999.99"))),
            "fixed price: price = amount"
        );
    }
);
