//! Characters that look like ASCII letters but are not (Cyrillic `е`, Greek `ο`, a non-breaking
//! space, ...): a key typed or pasted with one reads right on screen and is still refused, so
//! the message names the character by its code point and Unicode name.

/// Look-alikes of ASCII characters: the character, its Unicode name, and what it looks like.
const LOOKALIKES: &[(char, &str, char)] = &[
    ('\u{0430}', "CYRILLIC SMALL LETTER A", 'a'),
    ('\u{0441}', "CYRILLIC SMALL LETTER ES", 'c'),
    ('\u{0501}', "CYRILLIC SMALL LETTER KOMI DE", 'd'),
    ('\u{0435}', "CYRILLIC SMALL LETTER IE", 'e'),
    ('\u{04BB}', "CYRILLIC SMALL LETTER SHHA", 'h'),
    ('\u{0456}', "CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I", 'i'),
    ('\u{0458}', "CYRILLIC SMALL LETTER JE", 'j'),
    ('\u{04CF}', "CYRILLIC SMALL LETTER PALOCHKA", 'l'),
    ('\u{043E}', "CYRILLIC SMALL LETTER O", 'o'),
    ('\u{0440}', "CYRILLIC SMALL LETTER ER", 'p'),
    ('\u{051B}', "CYRILLIC SMALL LETTER QA", 'q'),
    ('\u{0455}', "CYRILLIC SMALL LETTER DZE", 's'),
    ('\u{051D}', "CYRILLIC SMALL LETTER WE", 'w'),
    ('\u{0445}', "CYRILLIC SMALL LETTER HA", 'x'),
    ('\u{0443}', "CYRILLIC SMALL LETTER U", 'y'),
    ('\u{0410}', "CYRILLIC CAPITAL LETTER A", 'A'),
    ('\u{0412}', "CYRILLIC CAPITAL LETTER VE", 'B'),
    ('\u{0421}', "CYRILLIC CAPITAL LETTER ES", 'C'),
    ('\u{0415}', "CYRILLIC CAPITAL LETTER IE", 'E'),
    ('\u{041D}', "CYRILLIC CAPITAL LETTER EN", 'H'),
    ('\u{0406}', "CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I", 'I'),
    ('\u{0408}', "CYRILLIC CAPITAL LETTER JE", 'J'),
    ('\u{041A}', "CYRILLIC CAPITAL LETTER KA", 'K'),
    ('\u{041C}', "CYRILLIC CAPITAL LETTER EM", 'M'),
    ('\u{041E}', "CYRILLIC CAPITAL LETTER O", 'O'),
    ('\u{0420}', "CYRILLIC CAPITAL LETTER ER", 'P'),
    ('\u{0405}', "CYRILLIC CAPITAL LETTER DZE", 'S'),
    ('\u{0422}', "CYRILLIC CAPITAL LETTER TE", 'T'),
    ('\u{0425}', "CYRILLIC CAPITAL LETTER HA", 'X'),
    ('\u{04AE}', "CYRILLIC CAPITAL LETTER STRAIGHT U", 'Y'),
    ('\u{03B1}', "GREEK SMALL LETTER ALPHA", 'a'),
    ('\u{03B9}', "GREEK SMALL LETTER IOTA", 'i'),
    ('\u{03BA}', "GREEK SMALL LETTER KAPPA", 'k'),
    ('\u{03BD}', "GREEK SMALL LETTER NU", 'v'),
    ('\u{03BF}', "GREEK SMALL LETTER OMICRON", 'o'),
    ('\u{03C1}', "GREEK SMALL LETTER RHO", 'p'),
    ('\u{03C5}', "GREEK SMALL LETTER UPSILON", 'u'),
    ('\u{0391}', "GREEK CAPITAL LETTER ALPHA", 'A'),
    ('\u{0392}', "GREEK CAPITAL LETTER BETA", 'B'),
    ('\u{0395}', "GREEK CAPITAL LETTER EPSILON", 'E'),
    ('\u{0397}', "GREEK CAPITAL LETTER ETA", 'H'),
    ('\u{0399}', "GREEK CAPITAL LETTER IOTA", 'I'),
    ('\u{039A}', "GREEK CAPITAL LETTER KAPPA", 'K'),
    ('\u{039C}', "GREEK CAPITAL LETTER MU", 'M'),
    ('\u{039D}', "GREEK CAPITAL LETTER NU", 'N'),
    ('\u{039F}', "GREEK CAPITAL LETTER OMICRON", 'O'),
    ('\u{03A1}', "GREEK CAPITAL LETTER RHO", 'P'),
    ('\u{03A4}', "GREEK CAPITAL LETTER TAU", 'T'),
    ('\u{03A7}', "GREEK CAPITAL LETTER CHI", 'X'),
    ('\u{0396}', "GREEK CAPITAL LETTER ZETA", 'Z'),
    ('\u{0131}', "LATIN SMALL LETTER DOTLESS I", 'i'),
    ('\u{00A0}', "NO-BREAK SPACE", ' '),
    ('\u{2010}', "HYPHEN", '-'),
    ('\u{2011}', "NON-BREAKING HYPHEN", '-'),
    ('\u{2012}', "FIGURE DASH", '-'),
    ('\u{2013}', "EN DASH", '-'),
    ('\u{2212}', "MINUS SIGN", '-'),
    ('\u{FF3F}', "FULLWIDTH LOW LINE", '_'),
];

/// Invisible characters that sneak into pasted text.
const INVISIBLE: &[(char, &str)] = &[
    ('\u{200B}', "ZERO WIDTH SPACE"),
    ('\u{200C}', "ZERO WIDTH NON-JOINER"),
    ('\u{200D}', "ZERO WIDTH JOINER"),
    ('\u{2060}', "WORD JOINER"),
    ('\u{FEFF}', "ZERO WIDTH NO-BREAK SPACE"),
];

/// The first character of `text` that is not ASCII, described for a message, e.g.
/// "`е` is U+0435 CYRILLIC SMALL LETTER IE, not the ASCII letter `e`". `None` when `text`
/// is plain ASCII.
pub fn describe(text: &str) -> Option<String> {
    let c = text.chars().find(|c| !c.is_ascii())?;
    let code = format!("U+{:04X}", c as u32);
    if let Some((_, name, ascii)) = LOOKALIKES.iter().find(|(l, _, _)| *l == c) {
        let what = match ascii {
            ' ' => "an ASCII space".to_string(),
            '-' | '_' => format!("the ASCII `{ascii}`"),
            _ => format!("the ASCII letter `{ascii}`"),
        };
        return Some(format!("`{c}` is {code} {name}, not {what}"));
    }
    if let Some((_, name)) = INVISIBLE.iter().find(|(l, _)| *l == c) {
        return Some(format!("it holds an invisible {code} {name}"));
    }
    Some(format!("`{c}` is {code}, not an ASCII character"))
}

/// `text` with every known look-alike replaced by the ASCII character it imitates and
/// invisible characters removed; other characters are kept.
pub fn to_ascii(text: &str) -> String {
    text.chars()
        .filter(|c| !INVISIBLE.iter().any(|(l, _)| l == c))
        .map(|c| {
            LOOKALIKES
                .iter()
                .find(|(l, _, _)| *l == c)
                .map(|(_, _, a)| *a)
                .unwrap_or(c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_cyrillic_letter() {
        assert_eq!(
            describe("nam\u{0435}").as_deref(),
            Some("`\u{0435}` is U+0435 CYRILLIC SMALL LETTER IE, not the ASCII letter `e`")
        );
        assert_eq!(to_ascii("nam\u{0435}"), "name");
        assert_eq!(describe("name"), None);
    }

    #[test]
    fn names_invisible_and_unknown_characters() {
        assert_eq!(
            describe("na\u{200B}me").as_deref(),
            Some("it holds an invisible U+200B ZERO WIDTH SPACE")
        );
        assert_eq!(to_ascii("na\u{200B}me"), "name");
        assert_eq!(
            describe("caf\u{e9}").as_deref(),
            Some("`\u{e9}` is U+00E9, not an ASCII character")
        );
    }
}
