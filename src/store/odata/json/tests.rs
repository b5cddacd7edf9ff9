//! Exact values between Web API JSON and `Value`s: every type, the precision cases, delta pages
//! as Dataverse and odatapy send them, request bodies and URL key segments, malformed input.

use std::str::FromStr;

use proptest::prelude::*;

use super::*;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn v(raw: &str, ty: ValueType) -> Value {
    value_of(raw, ty, "col").unwrap_or_else(|e| panic!("{raw}: {e}"))
}

fn err(raw: &str, ty: ValueType) -> String {
    let e = value_of(raw, ty, "msdyn_amount").unwrap_err();
    assert!(e.contains("`msdyn_amount`"), "{e}");
    e
}

#[test]
fn decimals_keep_every_digit_and_scale() {
    for (raw, exact) in [
        ("123.4500", "123.4500"),
        ("0.1", "0.1"),
        ("12345678901234.5678", "12345678901234.5678"),
        ("-0.0000000001", "-0.0000000001"),
        ("12345678901234.5678901234", "12345678901234.5678901234"),
        ("0", "0"),
        ("-7", "-7"),
        ("79228162514264337593543950335", "79228162514264337593543950335"),
    ] {
        let got = v(raw, ValueType::Decimal);
        assert_eq!(got, Value::Decimal(dec(exact)));
        assert_eq!(got.to_string(), exact, "the scale of {raw} is kept");
    }
    assert_eq!(v("0.1", ValueType::Decimal).to_string(), "0.1");
}

#[test]
fn decimal_exponents_are_exact() {
    for (raw, exact) in [
        ("1E+2", "100"),
        ("1e2", "100"),
        ("1.50E+2", "150"),
        ("1.5E+1", "15"),
        ("1.234E+1", "12.34"),
        ("1E-3", "0.001"),
        ("-2.5e-2", "-0.025"),
        ("0E+10", "0"),
        ("1.0000000000000000000000000000000E0", "1.0000000000000000000000000000"),
    ] {
        assert_eq!(v(raw, ValueType::Decimal).to_string(), exact, "{raw}");
    }
}

#[test]
fn decimals_as_strings_with_ieee754_compatible() {
    assert_eq!(v("\"123.4500\"", ValueType::Decimal).to_string(), "123.4500");
    assert_eq!(v("\"-0.0000000001\"", ValueType::Decimal).to_string(), "-0.0000000001");
    assert_eq!(v("\"9007199254740993\"", ValueType::Int), Value::Int(9007199254740993));
}

#[test]
fn decimals_that_do_not_fit_or_are_not_numbers_are_errors() {
    for raw in [
        "1E+40",
        "123456789012345678901234567890123",
        "0.00000000000000000000000000001",
        "1e999999999999999999999",
    ] {
        let e = err(raw, ValueType::Decimal);
        assert!(e.contains(raw.get(..20).unwrap_or(raw)), "{e}");
    }
    for raw in [
        "\"\"", "\"12,5\"", "\"NaN\"", "\"INF\"", "01.5", ".5", "5.", "+5", "1e", "1E+", "true", "\"1 \"", "[1]",
    ] {
        err(raw, ValueType::Decimal);
    }
    assert!(err("\"abc\"", ValueType::Decimal).contains("is not a valid decimal (not a number)"));
}

#[test]
fn integers_reject_fractions_and_out_of_range() {
    assert_eq!(v("192350000", ValueType::Int), Value::Int(192350000));
    assert_eq!(v("-9223372036854775808", ValueType::Int), Value::Int(i64::MIN));
    assert!(err("9223372036854775808", ValueType::Int).contains("out of range"));
    assert!(err("1.5", ValueType::Int).contains("not an integer"));
    assert!(err("1.0", ValueType::Int).contains("not an integer"));
    assert!(err("1E+2", ValueType::Int).contains("not an integer"));
    err("\"one\"", ValueType::Int);
    err("true", ValueType::Int);
}

#[test]
fn booleans_strings_and_null() {
    assert_eq!(v("true", ValueType::Bool), Value::Bool(true));
    assert_eq!(v("false", ValueType::Bool), Value::Bool(false));
    err("1", ValueType::Bool);
    err("\"true\"", ValueType::Bool);
    assert_eq!(
        v(r#""Monte \"O\" Orton\u00e9\n""#, ValueType::Text),
        Value::Text("Monte \"O\" Ortoné\n".into())
    );
    err("12", ValueType::Text);
    err("\"broken", ValueType::Text);
    for ty in [
        ValueType::Bool,
        ValueType::Int,
        ValueType::Decimal,
        ValueType::Text,
        ValueType::Date,
        ValueType::DateTime,
        ValueType::Guid,
    ] {
        assert_eq!(v("null", ty), Value::Null);
        assert_eq!(v(" null ", ty), Value::Null);
    }
}

#[test]
fn guids_dates_and_datetimes() {
    let g = "2e451703-c686-e711-80e5-00155db19e6d";
    assert_eq!(
        v(&format!("\"{g}\""), ValueType::Guid),
        Value::Guid(Uuid::parse_str(g).unwrap())
    );
    assert_eq!(
        v(&format!("\"{}\"", g.to_uppercase()), ValueType::Guid),
        Value::Guid(Uuid::parse_str(g).unwrap())
    );
    err("\"2e451703c686e71180e500155db19e6d\"", ValueType::Guid);
    err("\"not-a-guid\"", ValueType::Guid);
    err(g, ValueType::Guid);

    assert_eq!(
        v("\"2024-01-31\"", ValueType::Date),
        Value::Date(NaiveDate::from_ymd_opt(2024, 1, 31).unwrap())
    );
    assert!(err("\"2024-02-30\"", ValueType::Date).contains("no such date"));
    err("\"2024-1-31\"", ValueType::Date);
    err("\"2024-01-31T00:00:00Z\"", ValueType::Date);

    let utc = |s: &str| Value::DateTime(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc));
    assert_eq!(
        v("\"2024-01-31T10:00:00Z\"", ValueType::DateTime),
        utc("2024-01-31T10:00:00Z")
    );
    assert_eq!(
        v("\"2024-01-31T12:00:00+02:00\"", ValueType::DateTime),
        utc("2024-01-31T10:00:00Z")
    );
    assert_eq!(
        v("\"2024-01-31T10:00:00.1234567Z\"", ValueType::DateTime),
        utc("2024-01-31T10:00:00.1234567Z")
    );
    assert_eq!(
        v("\"2024-01-31T05:30-04:30\"", ValueType::DateTime),
        utc("2024-01-31T10:00:00Z")
    );
    assert_eq!(
        v("\"2024-01-31T10:00Z\"", ValueType::DateTime),
        utc("2024-01-31T10:00:00Z")
    );
    err("\"2024-01-31T10:00:00\"", ValueType::DateTime);
    err("\"2024-01-31\"", ValueType::DateTime);
    err("1706695200", ValueType::DateTime);
}

#[test]
fn an_error_names_the_column_and_a_shortened_value() {
    let long = format!("\"{}\"", "9".repeat(200));
    let e = value_of(&long, ValueType::Guid, "msdyn_actualid").unwrap_err();
    assert!(e.starts_with("column `msdyn_actualid`: `\"999"), "{e}");
    assert!(e.contains('…') && e.len() < 200, "{e}");
}

/// The change-tracking page of the Dataverse documentation, with a decimal and a lookup.
const DATAVERSE_PAGE: &str = r#"{
  "@odata.context":"https://org.crm.dynamics.com/api/data/v9.0/$metadata#accounts(name,accountnumber,telephone1,fax)",
  "@odata.deltaLink":"https://org.crm.dynamics.com/api/data/v9.0/accounts?$select=name,accountnumber,telephone1,fax&$deltatoken=919042%2108%2f22%2f2017%2008%3a10%3a44",
  "value":[
    {"@odata.etag":"W/\"915244\"","name":"Monte Orton","accountnumber":null,"msdyn_amount":12345678901234.5678,
     "_msdyn_project_value@OData.Community.Display.V1.FormattedValue":"P1",
     "_msdyn_project_value":"60c4e274-0d87-e711-80e5-00155db19e6d","accountid":"60c4e274-0d87-e711-80e5-00155db19e6d"},
    {"@odata.context":"https://org.crm.dynamics.com/api/data/v9.0/$metadata#accounts/$deletedEntity","id":"2e451703-c686-e711-80e5-00155db19e6d","reason":"deleted"}
  ]
}"#;

#[test]
fn a_dataverse_delta_page() {
    let page = parse_entities(DATAVERSE_PAGE).unwrap();
    assert!(
        page.context
            .as_deref()
            .unwrap()
            .ends_with("#accounts(name,accountnumber,telephone1,fax)")
    );
    assert!(page.delta_link.as_deref().unwrap().contains("$deltatoken=919042%2108"));
    assert_eq!(page.next_link, None);
    assert_eq!(page.entries.len(), 2);
    let e = page.entities().next().unwrap();
    assert_eq!(e.etag().as_deref(), Some("W/\"915244\""));
    assert_eq!(e.raw("msdyn_amount"), Some("12345678901234.5678"));
    assert_eq!(
        e.value("msdyn_amount", ValueType::Decimal).unwrap(),
        Value::Decimal(dec("12345678901234.5678"))
    );
    assert_eq!(e.value("accountnumber", ValueType::Text).unwrap(), Value::Null);
    assert_eq!(
        e.value("name", ValueType::Text).unwrap(),
        Value::Text("Monte Orton".into())
    );
    assert!(matches!(
        e.value("_msdyn_project_value", ValueType::Guid).unwrap(),
        Value::Guid(_)
    ));
    assert!(
        e.value("telephone1", ValueType::Text)
            .unwrap_err()
            .contains("did not send")
    );
    assert!(e.names().any(|n| n.ends_with("FormattedValue")));

    let d = page.deleted().next().unwrap();
    assert_eq!(d.id.as_deref(), Some("2e451703-c686-e711-80e5-00155db19e6d"));
    assert_eq!(d.reason.as_deref(), Some("deleted"));
    let key = d.key_values(&[("accountid", ValueType::Guid)]).unwrap();
    assert_eq!(
        key,
        [Value::Guid(
            Uuid::parse_str("2e451703-c686-e711-80e5-00155db19e6d").unwrap()
        )]
    );
}

#[test]
fn odatapy_and_odata_4_01_deletions() {
    let body = r#"{"@odata.context":"http://localhost/$metadata#accounts/$delta","@odata.nextLink":"accounts?$skiptoken=2","value":[
      {"@odata.context":"http://localhost/$metadata#accounts/$deletedEntity","id":"https://x/api/data/v9.2/accounts(2e451703-c686-e711-80e5-00155db19e6d)","reason":"deleted"},
      {"@removed":{"reason":"changed"},"@id":"Lines(dataAreaId='usmf',LineNum=3)"},
      {"@odata.removed":{"reason":"deleted"},"ProjId":"P-1","dataAreaId":"usmf"},
      {"@removed":{},"@odata.id":"Things('it''s%20(a)')"}
    ]}"#;
    let page = parse_entities(body).unwrap();
    assert_eq!(page.next_link.as_deref(), Some("accounts?$skiptoken=2"));
    assert_eq!(page.entities().count(), 0);
    let d: Vec<&Deleted> = page.deleted().collect();
    assert_eq!(d.len(), 4);
    let guid = Uuid::parse_str("2e451703-c686-e711-80e5-00155db19e6d").unwrap();
    assert_eq!(
        d[0].key_values(&[("accountid", ValueType::Guid)]).unwrap(),
        [Value::Guid(guid)]
    );
    assert_eq!(d[1].reason.as_deref(), Some("changed"));
    assert_eq!(
        d[1].key_values(&[("LineNum", ValueType::Int), ("dataAreaId", ValueType::Text)])
            .unwrap(),
        [Value::Int(3), Value::Text("usmf".into())]
    );
    assert_eq!(d[2].id, None);
    assert_eq!(
        d[2].key_values(&[("dataAreaId", ValueType::Text), ("ProjId", ValueType::Text)])
            .unwrap(),
        [Value::Text("usmf".into()), Value::Text("P-1".into())]
    );
    assert_eq!(d[3].reason, None);
    assert_eq!(
        d[3].key_values(&[("name", ValueType::Text)]).unwrap(),
        [Value::Text("it's (a)".into())]
    );
    assert!(
        d[1].key_values(&[("Other", ValueType::Int), ("LineNum", ValueType::Int)])
            .unwrap_err()
            .contains("`Other`")
    );
    assert!(
        d[0].key_values(&[("accountid", ValueType::Text)])
            .unwrap_err()
            .contains("quoted")
    );
}

#[test]
fn key_predicates_of_ids() {
    assert_eq!(
        key_predicate_of("2e451703-c686-e711-80e5-00155db19e6d"),
        "2e451703-c686-e711-80e5-00155db19e6d"
    );
    assert_eq!(
        key_predicate_of("[Org]/api/data/v9.2/tasks(d31ba648-c592-ed11-aad1-000d3a993550)"),
        "d31ba648-c592-ed11-aad1-000d3a993550"
    );
    assert_eq!(key_predicate_of("https://x/sites(1)/lines(a='(',b=2)"), "a='(',b=2");
    assert_eq!(
        parse_key_predicate("a='x%2Cy',b=1").unwrap(),
        [(Some("a".into()), "'x,y'".into()), (Some("b".into()), "1".into())]
    );
    assert_eq!(parse_key_predicate("'a=b'").unwrap(), [(None, "'a=b'".into())]);
    assert!(parse_key_predicate("a='x").unwrap_err().contains("unclosed"));
    assert!(parse_key_predicate("a=1,").unwrap_err().contains("empty"));
    assert!(parse_key_predicate("%FF").is_err());
}

#[test]
fn malformed_pages_are_permanent_errors() {
    for (body, says) in [
        ("not json", "not a JSON object"),
        ("[1,2]", "not a JSON object"),
        (r#"{"@odata.context":"x"}"#, "no `value` array"),
        (r#"{"value":{}}"#, "`value` is not an array"),
        (r#"{"value":[1]}"#, "entry 1 of `value`"),
        (
            r#"{"value":[],"@odata.nextLink":5}"#,
            "`@odata.nextLink` is not a string",
        ),
        (r#"{"value":[{"@removed":true}]}"#, "`@removed`"),
        (r#"{"value":[{"a":1.5,}]}"#, "line 1 column 20"),
    ] {
        let e = parse_entities(body).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Permanent);
        assert!(e.message.contains(says), "{body}: {e}");
    }
    let empty = parse_entities(r#"{"value":[],"@odata.nextLink":null}"#).unwrap();
    assert!(empty.entries.is_empty() && empty.next_link.is_none());
}

#[test]
fn a_single_entity() {
    let e = parse_entity(r#"{"@odata.etag":"W/\"1\"","msdyn_amount":-0.0000000001}"#).unwrap();
    assert_eq!(
        e.value("msdyn_amount", ValueType::Decimal).unwrap().to_string(),
        "-0.0000000001"
    );
    assert!(parse_entity("[]").is_err());
}

#[test]
fn request_bodies_with_exact_values_and_binds() {
    let project = Uuid::parse_str("60c4e274-0d87-e711-80e5-00155db19e6d").unwrap();
    let amount = Value::Decimal(dec("12345678901234.5678"));
    let date = Value::Date(NaiveDate::from_ymd_opt(2024, 1, 31).unwrap());
    let at = Value::DateTime(
        DateTime::parse_from_rfc3339("2024-01-31T12:00:00.5+02:00")
            .unwrap()
            .with_timezone(&Utc),
    );
    let text = Value::Text("a \"quoted\" line\nnext".into());
    let small = Value::Decimal(dec("-0.0000000001"));
    let id = Value::Guid(project);
    let fields: Vec<(&str, &Value)> = vec![
        ("msdyn_amount", &amount),
        ("msdyn_small", &small),
        ("msdyn_documentdate", &date),
        ("modifiedon", &at),
        ("msdyn_description", &text),
        ("msdyn_transactiontypecode", &Value::Int(192350000)),
        ("msdyn_billable", &Value::Bool(true)),
        ("msdyn_note", &Value::Null),
        ("msdyn_actualid", &id),
    ];
    let path = bind_path("msdyn_projects", &[("msdyn_projectid", &Value::Guid(project))]).unwrap();
    let body = entity_body(&fields, &[("msdyn_Project", &path)]);
    assert_eq!(
        body,
        r#"{"msdyn_amount":12345678901234.5678,"msdyn_small":-0.0000000001,"msdyn_documentdate":"2024-01-31","modifiedon":"2024-01-31T10:00:00.500Z","msdyn_description":"a \"quoted\" line\nnext","msdyn_transactiontypecode":192350000,"msdyn_billable":true,"msdyn_note":null,"msdyn_actualid":"60c4e274-0d87-e711-80e5-00155db19e6d","msdyn_Project@odata.bind":"/msdyn_projects(60c4e274-0d87-e711-80e5-00155db19e6d)"}"#
    );
    // What was written reads back to the same values.
    let back = parse_entity(&body).unwrap();
    for (name, value) in &fields {
        let ty = value.value_type().unwrap_or(ValueType::Text);
        assert_eq!(&back.value(name, ty).unwrap(), *value, "{name}");
    }
    assert_eq!(entity_body(&[], &[]), "{}");
}

#[test]
fn key_segments() {
    let g = Value::Guid(Uuid::parse_str("00000000-0000-0000-0000-000000000001").unwrap());
    assert_eq!(
        key_segment(&[("accountid", &g)]).unwrap(),
        "(00000000-0000-0000-0000-000000000001)"
    );
    assert_eq!(
        key_segment(&[("name", &Value::Text("O'Neil & Sons/50% #1?".into()))]).unwrap(),
        "('O''Neil%20%26%20Sons%2F50%25%20%231%3F')"
    );
    assert_eq!(
        key_segment(&[("name", &Value::Text("Zoë+1".into()))]).unwrap(),
        "('Zo%C3%AB%2B1')"
    );
    assert_eq!(key_segment(&[("n", &Value::Int(-12))]).unwrap(), "(-12)");
    assert_eq!(key_segment(&[("n", &Value::Decimal(dec("1.50")))]).unwrap(), "(1.50)");
    assert_eq!(
        key_segment(&[("example_key1", &Value::Int(2)), ("example_key2", &Value::Int(2))]).unwrap(),
        "(example_key1=2,example_key2=2)"
    );
    let date = Value::Date(NaiveDate::from_ymd_opt(2024, 1, 31).unwrap());
    assert_eq!(
        key_segment(&[
            ("dataAreaId", &Value::Text("usmf".into())),
            ("d", &date),
            ("b", &Value::Bool(false))
        ])
        .unwrap(),
        "(dataAreaId='usmf',d=2024-01-31,b=false)"
    );
    assert_eq!(
        alternate_key_segment(&[("accountnumber", &Value::Text("A1".into()))]).unwrap(),
        "(accountnumber='A1')"
    );
    assert!(key_segment(&[]).is_err());
    assert!(
        key_segment(&[("accountid", &Value::Null)])
            .unwrap_err()
            .contains("`accountid`")
    );
    assert!(
        alternate_key_segment(&[("a", &Value::Int(1)), ("b", &Value::Null)])
            .unwrap_err()
            .contains("`b`")
    );
}

#[test]
fn key_segments_read_back_through_the_id_parser() {
    let text = Value::Text("it's, (a) = 100% / b".into());
    let seg = key_segment(&[("a", &text), ("n", &Value::Int(7))]).unwrap();
    let deleted = Deleted {
        id: Some(format!("https://x/things{seg}")),
        reason: None,
        fields: Entity::default(),
    };
    assert_eq!(
        deleted
            .key_values(&[("a", ValueType::Text), ("n", ValueType::Int)])
            .unwrap(),
        [text, Value::Int(7)]
    );
}

proptest! {
    #[test]
    fn decimals_round_trip_exactly(m in any::<i64>(), scale in 0u32..=18) {
        let d = Decimal::new(m, scale);
        let written = json_literal(&Value::Decimal(d));
        prop_assert_eq!(value_of(&written, ValueType::Decimal, "c").unwrap(), Value::Decimal(d));
        prop_assert_eq!(value_of(&written, ValueType::Decimal, "c").unwrap().to_string(), d.to_string());
        let quoted = format!("\"{written}\"");
        prop_assert_eq!(value_of(&quoted, ValueType::Decimal, "c").unwrap(), Value::Decimal(d));
    }

    #[test]
    fn text_keys_round_trip(s in "\\PC{0,30}") {
        let seg = key_segment(&[("a", &Value::Text(s.clone()))]).unwrap();
        let deleted = Deleted { id: Some(format!("things{seg}")), reason: None, fields: Entity::default() };
        prop_assert_eq!(deleted.key_values(&[("a", ValueType::Text)]).unwrap(), vec![Value::Text(s)]);
    }
}
