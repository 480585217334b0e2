//! Duration literals: `250ms`, `5s`, `1m`, `1h` (an integer with a unit suffix).

use syn::{Lit, LitFloat, LitInt};

use super::ast::Duration;

const UNITS: &str = "expected `ms`, `s`, `m` or `h`";

/// Reads an integer literal with a unit suffix as a duration.
pub(crate) fn from_int(lit: &LitInt) -> syn::Result<Duration> {
    let per_unit: u64 = match lit.suffix() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "" => {
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "duration without a unit; write `{}ms` or `{}s` ({UNITS})",
                    lit.base10_digits(),
                    lit.base10_digits()
                ),
            ))
        }
        other => {
            return Err(syn::Error::new(lit.span(), format!("unknown duration unit `{other}`; {UNITS}")))
        }
    };
    let value: u64 = lit.base10_parse()?;
    let millis = value
        .checked_mul(per_unit)
        .ok_or_else(|| syn::Error::new(lit.span(), "duration too large for milliseconds in a u64"))?;
    Ok(Duration { millis, span: lit.span() })
}

/// A float with a unit suffix is refused, with the whole number of milliseconds to write.
pub(crate) fn refuse_float(lit: &LitFloat) -> syn::Error {
    let per_unit = match lit.suffix() {
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => 1.0,
    };
    let hint = match lit.base10_parse::<f64>() {
        Ok(v) if (v * per_unit).fract() == 0.0 => format!("; write `{}ms`", v * per_unit),
        _ => String::new(),
    };
    syn::Error::new(lit.span(), format!("durations are whole numbers{hint}"))
}

/// Whether a literal looks like a duration (a number with a suffix).
pub(crate) fn is_duration_like(lit: &Lit) -> bool {
    match lit {
        Lit::Int(i) => !i.suffix().is_empty() && !is_int_type_suffix(i.suffix()),
        Lit::Float(f) => matches!(f.suffix(), "ms" | "s" | "m" | "h"),
        _ => false,
    }
}

/// Rust's own integer suffixes (`5u32`) stay integers.
fn is_int_type_suffix(s: &str) -> bool {
    matches!(
        s,
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> syn::Result<u64> {
        let lit: LitInt = syn::parse_str(src).unwrap();
        from_int(&lit).map(|d| d.millis)
    }

    #[test]
    fn units() {
        assert_eq!(parse("250ms").unwrap(), 250);
        assert_eq!(parse("5s").unwrap(), 5_000);
        assert_eq!(parse("2m").unwrap(), 120_000);
        assert_eq!(parse("1h").unwrap(), 3_600_000);
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse("5sec").unwrap_err().to_string(),
            "unknown duration unit `sec`; expected `ms`, `s`, `m` or `h`"
        );
        assert!(parse("5").unwrap_err().to_string().starts_with("duration without a unit"));
    }
}

/// Reads the text of a duration written in quotes (`"5s"`), to say how to write it.
pub(crate) fn parse_str(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits);
    let per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(per_unit)
}
