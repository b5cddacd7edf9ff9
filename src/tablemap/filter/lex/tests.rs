//! Tests of the lexer, through `parse`: every literal form, malformed literals, operators from
//! other languages, unterminated text, and how much source each lexing error covers.

use super::super::test_util::*;
use super::super::{CmpOp, Expr};
use super::*;

#[test]
fn literals_of_every_type() {
    let lit = |src: &str| match p(&format!("c eq {src}")) {
        Expr::Cmp { value, .. } => value.value,
        other => panic!("{other:?}"),
    };
    assert_eq!(lit("null"), Value::Null);
    assert_eq!(lit("true"), Value::Bool(true));
    assert_eq!(lit("-9223372036854775808"), Value::Int(i64::MIN));
    assert_eq!(lit("007"), Value::Int(7));
    let Value::Decimal(d) = lit("-12.50") else { panic!() };
    assert_eq!((d.to_string(), d.scale()), ("-12.50".to_string(), 2));
    assert_eq!(
        lit("0.0000000000000000000000000001"),
        dec("0.0000000000000000000000000001")
    );
    assert_eq!(lit("'it''s'"), text("it's"));
    assert_eq!(lit("''''"), text("'"));
    assert_eq!(lit("''"), text(""));
    assert_eq!(lit("'Ünïcödé ✓'"), text("Ünïcödé ✓"));
    assert_eq!(lit("2024-02-29"), date("2024-02-29"));
    assert_eq!(lit("2024-02-01T12:30:00+02:00"), datetime("2024-02-01T10:30:00Z"));
    assert_eq!(
        lit("2024-02-01T10:00:00.123456789Z"),
        datetime("2024-02-01T10:00:00.123456789Z")
    );
    assert_eq!(lit("2024-01-01T00:30:00-01:00"), datetime("2024-01-01T01:30:00Z"));
    // GUIDs: case-insensitive, and ones that start like a date or with a hex letter.
    assert_eq!(lit(&G.to_uppercase()), guid(G));
    assert_eq!(
        lit("20240101-0000-4e1a-9c3b-2d4e6f8a0b1c"),
        guid("20240101-0000-4e1a-9c3b-2d4e6f8a0b1c")
    );
    assert_eq!(
        lit("abcdef12-8b7d-4e1a-9c3b-2d4e6f8a0b1c"),
        guid("abcdef12-8b7d-4e1a-9c3b-2d4e6f8a0b1c")
    );
    assert_eq!(p(&format!("c in ({G},{G})")).columns()[0].name, "c");
}

#[test]
fn literals_keep_their_length_as_written() {
    let src = "c in (007, 'it''s', -1.50, 2024-02-01T12:30:00+02:00, null, '')";
    let Expr::In { values, .. } = p(src) else { panic!() };
    let spans: Vec<&str> = values.iter().map(|v| &src[v.offset..v.offset + v.len]).collect();
    assert_eq!(
        spans,
        ["007", "'it''s'", "-1.50", "2024-02-01T12:30:00+02:00", "null", "''"]
    );
    let Expr::Cmp { value, op, .. } = p("'Ünï' gt c") else {
        panic!()
    };
    assert_eq!((op, value.offset, value.len), (CmpOp::Lt, 0, "'Ünï'".len()));
}

#[test]
fn operators_from_other_languages() {
    let eq = "OData spells equality 'eq'";
    for (src, at, sym, hint) in [
        ("a == 1", 2, "==", eq),
        ("a = 1", 2, "=", eq),
        ("a eq 1 && b eq 2", 7, "&&", "write 'and' instead"),
        ("a eq 1 || b eq 2", 7, "||", "write 'or' instead"),
        ("a != 1", 2, "!=", "write 'ne' instead"),
        ("a <> 1", 2, "<>", "write 'ne' instead"),
        ("a >= 1", 2, ">=", "write 'ge' instead"),
        ("a < 1", 2, "<", "write 'lt' instead"),
        ("!(a eq 1)", 0, "!", "write 'not' instead"),
    ] {
        assert_err(
            src,
            &format!("'{sym}' is not a filter operator (at byte {at}); hint: {hint}"),
        );
        assert_eq!(covered(src), sym, "{src}");
    }
}

#[test]
fn unterminated_text_points_at_the_opening_quote() {
    assert_err(
        "name eq 'abc",
        "unterminated text: this quote is never closed (at byte 8); hint: end the text with ' (write '' for a quote inside text)",
    );
    assert_eq!(err("name eq 'it''s").offset, 8);
    assert_eq!(err("startswith(name, 'x) and a eq 1").offset, 17);
}

#[test]
fn malformed_literals() {
    let forms = format!("values are {UNQUOTED_FORMS}");
    assert_err(
        "d eq 2024-02-30",
        "'2024-02-30' is not a valid date (at byte 5); hint: write dates as YYYY-MM-DD, e.g. 2024-01-31",
    );
    assert_err(
        "d eq 2024-02-01T10:00:00",
        "datetime '2024-02-01T10:00:00' has no time zone (at byte 5); hint: add Z for UTC (2024-02-01T10:00:00Z) or an offset like +01:00",
    );
    assert_err(
        "d eq 2024-02-01T10:00Z",
        &format!("malformed datetime '2024-02-01T10:00Z' (at byte 5); hint: {DATETIME_HINT}"),
    );
    assert_err(
        "d eq 2024-02-01T25:00:00Z",
        &format!("'2024-02-01T25:00:00Z' is not a valid datetime (at byte 5); hint: {DATETIME_HINT}"),
    );
    assert_err(
        "d eq 2024-01",
        &format!("malformed value '2024-01' (at byte 5); hint: {forms}"),
    );
    assert_err(
        "a eq 12abc",
        &format!("malformed value '12abc' (at byte 5); hint: {forms}"),
    );
    assert_err("a eq 1.", &format!("malformed value '1.' (at byte 5); hint: {forms}"));
    assert_err(
        "a eq 1.2.3",
        &format!("malformed value '1.2.3' (at byte 5); hint: {forms}"),
    );
    assert_err(
        "id eq 5f3a1c2e-8b7d-4e1a-9c3b",
        &format!("malformed value '5f3a1c2e-8b7d-4e1a-9c3b' (at byte 6); hint: {forms}"),
    );
    assert_err(
        "id eq abcdef12-8b7d",
        &format!("malformed value 'abcdef12-8b7d' (at byte 6); hint: {forms}"),
    );
    assert_eq!(
        err("a eq 9223372036854775808").message,
        "integer 9223372036854775808 is out of range"
    );
    assert_eq!(
        err("a eq 1.00000000000000000000000000001").message,
        "decimal 1.00000000000000000000000000001 has too many digits"
    );
    assert_err(
        &format!("id eq guid'{G}'"),
        "guid'...' is OData v2 syntax (at byte 6); hint: write the value bare, e.g. 5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c or 2024-01-31",
    );
    assert_err(
        "a eq - 1",
        "unexpected character '-' (at byte 5); hint: a minus sign must be followed directly by digits, e.g. -0.5",
    );
}

#[test]
fn lexing_errors_cover_the_whole_token() {
    for (src, whole) in [
        ("name eq 'abc", "'abc"),
        ("name eq 'it''s and b eq 1", "'it''s and b eq 1"),
        ("name eq \"abc\" and b eq 1", "\"abc\""),
        ("name eq \"abc", "\"abc"),
        ("a eq 1 § b", "§"),
        ("id eq {5f3a1c2e}", "{"),
        ("d eq 2024-02-30 and x eq 1", "2024-02-30"),
        ("d eq 2024-02-01T10:00:00 or x eq 1", "2024-02-01T10:00:00"),
        ("d eq 2024-02-01T10:00Z", "2024-02-01T10:00Z"),
        ("d eq 2024-02-01T25:00:00Z)", "2024-02-01T25:00:00Z"),
        ("d eq 2024-01 and x eq 1", "2024-01"),
        ("a eq 12abc", "12abc"),
        ("a eq 1.2.3)", "1.2.3"),
        ("id eq abcdef12-8b7d", "abcdef12-8b7d"),
        ("a eq 9223372036854775808 or b", "9223372036854775808"),
        (
            "a eq 1.00000000000000000000000000001",
            "1.00000000000000000000000000001",
        ),
        ("id eq guid'5f3a' and x eq 1", "guid'5f3a'"),
        ("d eq datetime'it''s", "datetime'it''s"),
    ] {
        assert_eq!(covered(src), whole, "{src}");
    }
}
