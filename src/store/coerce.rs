//! Fitting a value to a column before it is written: the conversions that lose nothing
//! (an integer into a decimal column, GUID text into a GUID column), and the checks a finance
//! team relies on: a decimal that does not fit the column's precision and scale is refused,
//! never rounded.

use rust_decimal::Decimal;

use super::Column;
use super::sql::decode::parse_typed;
use crate::value::{Value, ValueType};

/// The value as the column stores it, or why it cannot be stored.
pub fn fit(value: &Value, column: &Column) -> Result<Value, String> {
    let converted = match (value, column.value_type) {
        (Value::Null, _) if !column.nullable => {
            return Err(format!("`{}` cannot be empty (null)", column.name));
        }
        (Value::Null, _) => return Ok(Value::Null),
        (v, t) if v.value_type() == Some(t) => v.clone(),
        (Value::Int(i), ValueType::Decimal) => Value::Decimal(Decimal::from(*i)),
        (Value::Decimal(d), ValueType::Int) if d.fract().is_zero() => {
            Value::Int(i64::try_from(d.trunc()).map_err(|_| format!("`{}`: {d} is out of range", column.name))?)
        }
        (Value::Guid(g), ValueType::Text) => Value::Text(g.hyphenated().to_string()),
        (Value::Text(s), t) if t != ValueType::Text => {
            parse_typed(t, s).ok_or_else(|| format!("`{}` is {}, and \"{s}\" is not a valid {}", column.name, t, t))?
        }
        (v, t) => {
            return Err(format!(
                "`{}` is {}, but the value {v} is {}",
                column.name,
                t,
                v.value_type().map(|t| t.name()).unwrap_or("null")
            ));
        }
    };
    match (converted, column.decimal) {
        (Value::Decimal(d), Some((precision, scale))) => fit_decimal(d, precision, scale)
            .map(Value::Decimal)
            .map_err(|why| format!("`{}` is decimal({precision},{scale}): {why}", column.name)),
        (v, _) => Ok(v),
    }
}

/// The decimal at exactly `scale` digits, if it fits `precision` without rounding.
pub fn fit_decimal(d: Decimal, precision: u32, scale: u32) -> Result<Decimal, String> {
    let normal = d.normalize();
    if normal.scale() > scale {
        return Err(format!(
            "{d} has {} digits after the point, the column allows {scale}",
            normal.scale()
        ));
    }
    let integer_digits = normal.trunc().abs().to_string().trim_start_matches('0').len() as u32;
    if integer_digits > precision.saturating_sub(scale) {
        return Err(format!(
            "{d} has {integer_digits} digits before the point, the column allows {}",
            precision.saturating_sub(scale)
        ));
    }
    let mut out = normal;
    if scale <= 28 {
        out.rescale(scale);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn col(ty: ValueType, decimal: Option<(u32, u32)>) -> Column {
        Column {
            name: "c".into(),
            value_type: ty,
            nullable: true,
            decimal,
        }
    }

    #[test]
    fn decimals_are_rescaled_not_rounded() {
        let c = col(ValueType::Decimal, Some((19, 4)));
        assert_eq!(
            fit(&Value::Decimal(Decimal::from_str("12.5").unwrap()), &c)
                .unwrap()
                .to_string(),
            "12.5000"
        );
        let err = fit(&Value::Decimal(Decimal::from_str("0.00001").unwrap()), &c).unwrap_err();
        assert!(err.contains("5 digits after the point, the column allows 4"), "{err}");
        let err = fit(&Value::Decimal(Decimal::from_str("1000000000000000").unwrap()), &c).unwrap_err();
        assert!(
            err.contains("16 digits before the point, the column allows 15"),
            "{err}"
        );
        assert!(fit(&Value::Decimal(Decimal::from_str("-999999999999999.9999").unwrap()), &c).is_ok());
    }

    #[test]
    fn lossless_conversions_only() {
        let g = "5f3a1c2e-8b7d-4e1a-9c3b-2d4e6f8a0b1c";
        assert_eq!(
            fit(&Value::Text(g.into()), &col(ValueType::Guid, None)).unwrap(),
            Value::Guid(uuid::Uuid::parse_str(g).unwrap())
        );
        assert!(fit(&Value::Text("nope".into()), &col(ValueType::Guid, None)).is_err());
        assert_eq!(
            fit(&Value::Int(3), &col(ValueType::Decimal, None)).unwrap(),
            Value::Decimal(Decimal::from(3))
        );
        assert!(
            fit(
                &Value::Decimal(Decimal::from_str("3.5").unwrap()),
                &col(ValueType::Int, None)
            )
            .is_err()
        );
        let not_null = Column {
            nullable: false,
            ..col(ValueType::Text, None)
        };
        assert!(fit(&Value::Null, &not_null).unwrap_err().contains("cannot be empty"));
    }
}
