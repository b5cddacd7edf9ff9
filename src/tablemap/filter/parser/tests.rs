//! Tests of the parser: the tree it builds (precedence, offsets, turned-around comparisons)
//! and its errors: messages, hints, offsets and the length of source each error covers.

use proptest::prelude::*;

use super::super::test_util::*;
use super::*;

#[test]
fn parses_the_documented_examples() {
    use CmpOp::*;
    assert_eq!(
        p("msdyn_skipsync eq false and startswith(name,'A')"),
        and(
            cmp("msdyn_skipsync", Eq, Value::Bool(false)),
            func(StrFunc::StartsWith, "name", "A")
        )
    );
    assert_eq!(
        p("msdyn_transactiontypecode in (192350000, 192350005) and msdyn_amount lt -0.5"),
        and(
            Expr::In {
                column: Col::new("msdyn_transactiontypecode", 0),
                values: vec![Lit::new(Value::Int(192350000), 0), Lit::new(Value::Int(192350005), 0)],
            },
            cmp("msdyn_amount", Lt, dec("-0.5"))
        )
    );
    assert_eq!(
        p("not (statecode eq 1) or msdyn_documentdate ge 2024-01-31"),
        or(
            not(cmp("statecode", Eq, Value::Int(1))),
            cmp("msdyn_documentdate", Ge, date("2024-01-31"))
        )
    );
    assert_eq!(
        p(&format!("msdyn_projectid eq {G}")),
        cmp("msdyn_projectid", Eq, guid(G))
    );
    assert_eq!(
        p("modifiedon lt 2024-02-01T10:00:00Z"),
        cmp("modifiedon", Lt, datetime("2024-02-01T10:00:00Z"))
    );
    assert_eq!(p("parent eq null"), cmp("parent", Eq, Value::Null));
    assert_eq!(p("a ne 1"), cmp("a", Ne, Value::Int(1)));
    assert_eq!(p("a gt 1"), cmp("a", Gt, Value::Int(1)));
    assert_eq!(p("a le 1"), cmp("a", Le, Value::Int(1)));
    assert_eq!(p("endswith(a,'x')"), func(StrFunc::EndsWith, "a", "x"));
    assert_eq!(p(" contains ( a , 'x' ) "), func(StrFunc::Contains, "a", "x"));
}

#[test]
fn not_binds_tighter_than_and_which_binds_tighter_than_or() {
    let (a, b, c) = (
        cmp("a", CmpOp::Eq, Value::Int(1)),
        cmp("b", CmpOp::Eq, Value::Int(2)),
        cmp("c", CmpOp::Eq, Value::Int(3)),
    );
    assert_eq!(
        p("a eq 1 or b eq 2 and c eq 3"),
        or(a.clone(), and(b.clone(), c.clone()))
    );
    assert_eq!(
        p("a eq 1 and b eq 2 or c eq 3"),
        or(and(a.clone(), b.clone()), c.clone())
    );
    assert_eq!(p("not a eq 1 and b eq 2"), and(not(a.clone()), b.clone()));
    assert_eq!(p("not not a eq 1"), not(not(a.clone())));
    assert_eq!(
        p("(a eq 1 or b eq 2) and c eq 3"),
        and(or(a.clone(), b.clone()), c.clone())
    );
    // left-associative
    assert_eq!(p("a eq 1 or b eq 2 or c eq 3"), or(or(a.clone(), b.clone()), c.clone()));
    assert_eq!(p("a eq 1 and (b eq 2 and c eq 3)"), and(a, and(b, c)));
}

#[test]
fn columns_and_literals_carry_their_offsets() {
    let src = "  amount gt 10 and code in (1, 'x') or startswith(name, 'A')";
    let e = p(src);
    let cols: Vec<(&str, usize)> = e.columns().iter().map(|c| (c.name.as_str(), c.offset)).collect();
    assert_eq!(cols, vec![("amount", 2), ("code", 19), ("name", 50)]);
    let Expr::Or(l, _) = &e else { panic!() };
    let Expr::And(cmp, list) = &**l else { panic!() };
    let Expr::Cmp { value, .. } = &**cmp else { panic!() };
    assert_eq!(value.offset, 12);
    let Expr::In { values, .. } = &**list else { panic!() };
    assert_eq!(values.iter().map(|v| v.offset).collect::<Vec<_>>(), vec![28, 31]);
    // The same column twice is listed twice.
    assert_eq!(p("a eq 1 or a eq 2").columns().len(), 2);
}

#[test]
fn literal_on_the_left_is_turned_around() {
    assert_eq!(p("5 lt amount"), cmp("amount", CmpOp::Gt, Value::Int(5)));
    assert_eq!(p("5 ge amount"), cmp("amount", CmpOp::Le, Value::Int(5)));
    assert_eq!(p("null eq parent"), cmp("parent", CmpOp::Eq, Value::Null));
    assert_eq!(p("5 lt amount").columns()[0].offset, 5);
}

#[test]
fn function_compared_with_a_boolean() {
    let f = func(StrFunc::StartsWith, "name", "x");
    assert_eq!(p("startswith(name,'x') eq true"), f);
    assert_eq!(p("startswith(name,'x') ne false"), f);
    assert_eq!(p("startswith(name,'x') eq false"), not(f.clone()));
    assert_eq!(
        p("startswith(name,'x') ne true and a eq 1"),
        and(not(f), cmp("a", CmpOp::Eq, Value::Int(1)))
    );
    assert_err(
        "startswith(name,'x') gt true",
        "startswith(...) is true or false and cannot be compared with 'gt' (at byte 21); hint: use it alone, or with eq true / eq false",
    );
    assert_err(
        "startswith(name,'x') eq 1",
        "startswith(...) can only be compared with true or false, found '1' (at byte 24); hint: use it alone, or with eq true / eq false",
    );
}

#[test]
fn keywords_are_lowercase_and_reserved() {
    assert_eq!(p("Eq eq 1"), cmp("Eq", CmpOp::Eq, Value::Int(1)));
    assert_eq!(p("contains eq 1"), cmp("contains", CmpOp::Eq, Value::Int(1)));
    assert_err(
        "a eq 1 AND b eq 2",
        "unexpected 'AND' after a complete condition (at byte 7); hint: keywords are lowercase: write 'and'",
    );
    assert_err(
        "a EQ 1",
        "expected a comparison operator (eq, ne, gt, ge, lt, le) after column 'a', found 'EQ' (at byte 2); hint: operators are lowercase: write 'eq'",
    );
    assert_err(
        "a eq True",
        "expected a value after 'eq', found the name 'True' (at byte 5); hint: keywords are lowercase: write 'true'",
    );
    assert_err(
        "null eq 1",
        "both sides of 'eq' are values (at byte 8); hint: one side must be a column, e.g. statecode eq 0",
    );
    assert_err(
        "and eq 1",
        &format!("expected a condition, found 'and' (at byte 0); hint: {CONDITION_HINT}"),
    );
}

#[test]
fn wrong_operator_word() {
    assert_err(
        "msdyn_amount equals 5",
        "expected a comparison operator (eq, ne, gt, ge, lt, le) after column 'msdyn_amount', found 'equals' (at byte 13); hint: OData spells equality 'eq'",
    );
    assert_eq!(err("a eqq 5").hint.as_deref(), Some("did you mean 'eq'?"));
    assert_eq!(
        err("a like 'x'").hint.as_deref(),
        Some("use contains(a, 'text'), startswith or endswith")
    );
    assert_eq!(err("a frobnicates 5").hint, None);
    assert_err(
        "a",
        "expected a comparison operator (eq, ne, gt, ge, lt, le) after column 'a', found end of input (at byte 1); hint: a column alone is not a condition; compare it, e.g. a eq true",
    );
    assert_eq!(
        err("a 'x'").message,
        "expected a comparison operator (eq, ne, gt, ge, lt, le) after column 'a', found 'x'"
    );
}

#[test]
fn unbalanced_parentheses() {
    assert_err(
        "(a eq 1 or (b eq 2)",
        "unbalanced parenthesis: this '(' is never closed (at byte 0); hint: add the missing ')'",
    );
    assert_err(
        "a eq 1)",
        "unbalanced parenthesis: this ')' has no matching '(' (at byte 6); hint: remove it, or add the missing '(' earlier",
    );
    assert_err("(a eq 1 b eq 2)", "expected ')', 'and' or 'or', found 'b' (at byte 8)");
    assert_err(
        "()",
        "expected a condition after '(', found ')' (at byte 1); hint: empty parentheses; put a condition inside",
    );
    assert_err(
        "a in (1, 2",
        "unbalanced parenthesis: this '(' is never closed (at byte 5); hint: add the missing ')'",
    );
    assert_err(
        "startswith(name, 'x'",
        "unbalanced parenthesis: this '(' is never closed (at byte 10); hint: add the missing ')'",
    );
}

#[test]
fn in_list_errors() {
    assert_err(
        "code in ()",
        "empty list after 'in' (at byte 8); hint: list at least one value, e.g. code in (1, 2)",
    );
    assert_err(
        "code in (1,)",
        "expected a value in the list after 'in', found ')' (at byte 11); hint: remove the trailing comma",
    );
    assert_err(
        "code in (1 2)",
        "expected ',' or ')' in the list after 'in', found '2' (at byte 11); hint: separate values with commas",
    );
    assert_err(
        "code in 1",
        "expected '(' after 'in', found '1' (at byte 8); hint: write a list, e.g. code in (1, 2, 3)",
    );
    assert_err(
        "1 in (1)",
        "'in' needs a column on its left (at byte 2); hint: write column in (1, 2, 3)",
    );
}

#[test]
fn unknown_functions() {
    assert_err(
        "startwith(name,'A')",
        "unknown function 'startwith' (at byte 0); hint: did you mean 'startswith'?",
    );
    assert_eq!(err("a eq 1 and endwith(name,'A')").offset, 11);
    assert_eq!(
        err("StartsWith(name,'A')").hint.as_deref(),
        Some("function names are lowercase: write 'startswith'")
    );
    assert_eq!(
        err("substringof('A',name)").hint.as_deref(),
        Some("use contains(column, 'text')")
    );
    assert_eq!(
        err("tolower(name) eq 'a'").hint.as_deref(),
        Some("the supported functions are startswith, endswith and contains")
    );
}

#[test]
fn function_argument_errors() {
    let usage = "write startswith(column, 'text')";
    assert_err(
        "startswith('A', name)",
        &format!("the first argument of startswith must be a column name, found 'A' (at byte 11); hint: {usage}"),
    );
    assert_err(
        "startswith(name 'A')",
        &format!("expected ',' after the column in startswith(...), found 'A' (at byte 16); hint: {usage}"),
    );
    assert_err(
        "startswith(name, 5)",
        &format!("the second argument of startswith must be quoted text, found '5' (at byte 17); hint: {usage}"),
    );
    assert_err(
        "startswith(name, 'A', 'B')",
        &format!("startswith takes two arguments; expected ')', found ',' (at byte 20); hint: {usage}"),
    );
}

#[test]
fn misplaced_or_missing_conditions() {
    assert_err(
        "",
        "the filter is empty (at byte 0); hint: write a condition such as statecode eq 0, or leave the filter out",
    );
    assert_err(
        "   ",
        "the filter is empty (at byte 0); hint: write a condition such as statecode eq 0, or leave the filter out",
    );
    assert_err(
        "a eq 1 and",
        &format!("expected a condition after 'and', found end of input (at byte 10); hint: {CONDITION_HINT}"),
    );
    assert_err(
        "not",
        &format!("expected a condition after 'not', found end of input (at byte 3); hint: {CONDITION_HINT}"),
    );
    assert_err(
        "eq 1",
        "expected a condition, found 'eq' (at byte 0); hint: a comparison needs a column on its left, e.g. statecode eq 0",
    );
    assert_err(
        "a eq 1 b eq 2",
        "unexpected 'b' after a complete condition (at byte 7); hint: join conditions with 'and' or 'or'",
    );
    assert_err(
        "a eq",
        &format!(
            "expected a value after 'eq', found end of input (at byte 4); hint: values are null, true, false, 'text', or unquoted {UNQUOTED_FORMS}"
        ),
    );
    assert_err(
        "a eq b",
        "expected a value after 'eq', found the name 'b' (at byte 5); hint: comparing column 'a' with another column is not supported; if 'b' is text, quote it: 'b'",
    );
    assert_err(
        "a eq 2 and x",
        "expected a comparison operator (eq, ne, gt, ge, lt, le) after column 'x', found end of input (at byte 12); hint: a column alone is not a condition; compare it, e.g. x eq true",
    );
    assert_err(
        "name eq \"abc\"",
        "text must be in single quotes, not double quotes (at byte 8); hint: write 'Contoso' (and '' for a quote inside text, as in 'O''Brien')",
    );
    assert_err(
        "id eq {5f3a1c2e}",
        "unexpected character '{' (at byte 6); hint: write GUIDs bare, without braces: 5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c",
    );
    assert_err("a eq 1 § b", "unexpected character '§' (at byte 7)");
}

#[test]
fn the_first_error_in_the_source_wins() {
    // A parse error before a lexing error is the one reported.
    assert_eq!(err("a equals 1 and b eq 'x").offset, 2);
    assert_eq!(err("a eq 'x").offset, 5);
}

#[test]
fn nesting_is_limited() {
    let deep = format!("{}a eq 1{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
    assert_eq!(
        err(&deep).message,
        format!("the filter nests deeper than {MAX_DEPTH} levels")
    );
    let ok = format!("{}a eq 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(p(&ok), cmp("a", CmpOp::Eq, Value::Int(1)));
    let nots = format!("{}a eq 1", "not ".repeat(MAX_DEPTH + 1));
    assert_eq!(err(&nots).offset, 4 * MAX_DEPTH);
}

#[test]
fn parsing_errors_cover_the_offending_token() {
    for (src, whole) in [
        ("a eq 1 AND b eq 2", "AND"),
        ("msdyn_amount equals 5", "equals"),
        ("a eq True", "True"),
        ("a eq 'x' 'it''s'", "'it''s'"),
        ("a eq 1)", ")"),
        ("(a eq 1 or (b eq 2)", "("),
        ("startswith(name, 'x'", "("),
        ("a in (1, 2", "("),
        ("code in ()", "()"),
        ("code in (  ) and x", "(  )"),
        ("code in (1 2)", "2"),
        ("1 in (1)", "in"),
        ("null eq 1", "1"),
        ("startwith(name,'A')", "startwith"),
        ("a eq 1 and tolower(name) eq 'a'", "tolower"),
        ("startswith('A', name)", "'A'"),
        ("startswith(name, 5)", "5"),
        ("startswith(name,'x') ge true", "ge"),
        ("startswith(name,'x') eq 'yes'", "'yes'"),
        ("eq 1", "eq"),
        ("a eq b", "b"),
        ("5 lt contains(a, 'x')", "contains"),
    ] {
        assert_eq!(covered(src), whole, "{src}");
    }
    // At the end of the input an error still covers one (missing) byte.
    for src in ["a eq 1 and", "a", "a eq", "not", "c in (1,"] {
        let e = err(src);
        assert_eq!((e.offset, e.len), (src.len(), 1), "{src}");
    }
    let e = err("   ");
    assert_eq!((e.offset, e.len), (0, 3), "an empty filter covers all of it");
    assert_eq!(err("").len, 1);
    let deep = format!("{}a eq 1", "not ".repeat(MAX_DEPTH + 1));
    assert_eq!(err(&deep).len, 3);
}

proptest! {
    #![proptest_config(no_persistence())]

    #[test]
    fn parsing_arbitrary_input_never_panics(src in prop_oneof![
        "[ -~]{0,40}",
        any::<String>(),
        prop::collection::vec(prop::sample::select(vec![
            "a", "eq", "gt", "in", "not", "and", "or", "(", ")", ",", "'x", "''", "'é'", "null",
            "-", "1", "-0.5", "2024-01-31", "2024-01-31T", "T10:00:00", "Z", "+01:00", "startswith",
            "5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c", "==", "&", " ", "§", "\"", "guid'",
        ]), 0..12).prop_map(|parts| parts.concat()),
    ]) {
        if let Err(e) = parse(&src) {
            prop_assert!(e.offset <= src.len() && src.is_char_boundary(e.offset), "{:?}: {:?}", src, e);
            prop_assert!(e.len >= 1, "{:?}: {:?}", src, e);
            // Inside the source an error covers whole characters of it; at its end, one byte.
            let end = e.offset + e.len;
            prop_assert!(
                if e.offset == src.len() { e.len == 1 } else { end <= src.len() && src.is_char_boundary(end) },
                "{:?}: {:?}", src, e
            );
        }
    }
}
