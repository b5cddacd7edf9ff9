//! Store URLs as they may be shown: in logs, `status`, errors and panics. The password of the
//! user information and every query parameter that holds a secret are replaced by `***`. URLs
//! are parsed with the `url` crate (the WHATWG rules: the user information ends at the last
//! `@`, so a raw `@` in a password does not leak its tail); a URL it cannot parse is shown
//! without anything between the scheme and its last `@`, and without its query.

/// Query parameters whose value is a secret (PostgreSQL's and common drivers' names).
const SECRET_PARAMETERS: [&str; 6] = ["password", "sslpassword", "passfile", "token", "secret", "key"];

/// The URL without its secrets.
pub fn redact(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                // Only URLs that can hold a password carry one, so this cannot fail.
                let _ = url.set_password(Some("***"));
            }
            let secret = |k: &str| {
                let k = k.to_ascii_lowercase();
                SECRET_PARAMETERS
                    .iter()
                    .any(|s| k == *s || k.ends_with(&format!("_{s}")))
            };
            if url.query_pairs().any(|(k, _)| secret(&k)) {
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if secret(&k) { "***".to_string() } else { v.into_owned() };
                        (k.into_owned(), v)
                    })
                    .collect();
                url.query_pairs_mut().clear().extend_pairs(pairs);
            }
            // `url` percent-encodes what it writes; the stars read better as they are.
            url.to_string().replace("%2A%2A%2A", "***")
        }
        Err(_) => {
            let without_query = raw.split_once('?').map_or(raw, |(head, _)| head);
            match (without_query.split_once("://"), without_query.rfind('@')) {
                (Some((scheme, _)), Some(at)) => format!("{scheme}://***{}", &without_query[at..]),
                _ => without_query.to_string(),
            }
        }
    }
}

/// `text` with every URL in it redacted (a URL runs from its scheme to the next white space
/// or quote), for free text that may hold one: a panic message, a driver's error.
pub fn redact_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // The scheme: the letters, digits, `+`, `-` and `.` just before `://`.
        let start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        out.push_str(&redact(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{redact, redact_in};

    #[test]
    fn urls_inside_text_are_redacted() {
        let shown = redact_in("cannot open \"postgres://u:p@ss@db/x?password=k\" (state store: postgres://a:b@h/y)");
        assert!(
            !shown.contains("p@ss") && !shown.contains(":b@") && !shown.contains("=k"),
            "{shown}"
        );
        assert!(
            shown.starts_with("cannot open \"postgres://u:***@db/x?password=***\""),
            "{shown}"
        );
        assert_eq!(redact_in("no url here"), "no url here");
    }

    #[test]
    fn passwords_in_the_user_information_are_hidden() {
        assert_eq!(
            redact("postgres://app:s3cret@db.example:5432/books"),
            "postgres://app:***@db.example:5432/books"
        );
        // A raw `@` in the password: the user information ends at the last one.
        let shown = redact("postgres://app:p@ss@db.example/books");
        assert!(!shown.contains("ss@") && !shown.contains("p@"), "{shown}");
        assert!(shown.ends_with("@db.example/books"), "{shown}");
        assert_eq!(
            redact("postgres://app@db.example/books"),
            "postgres://app@db.example/books"
        );
    }

    #[test]
    fn secret_query_parameters_are_hidden() {
        let shown = redact("postgres://db.example/books?user=app&password=s3cret&sslmode=require");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("password=***") && shown.contains("sslmode=require"),
            "{shown}"
        );
        let shown = redact("postgres://db.example/books?sslpassword=k3y&application_name=x");
        assert!(
            !shown.contains("k3y") && shown.contains("application_name=x"),
            "{shown}"
        );
    }

    #[test]
    fn urls_without_secrets_are_unchanged() {
        for url in [
            "sqlite://data/state.db",
            "sqlite:///var/lib/dualsync/state.db?mode=rwc",
            "sqlite::memory:",
            "postgres://postgres@127.0.0.1:5432/test",
        ] {
            assert_eq!(redact(url), url);
        }
    }

    #[test]
    fn unparsable_urls_show_nothing_before_their_last_at() {
        let shown = redact("postgres://app:p@ss@[bad host/books?password=x");
        assert!(!shown.contains("p@ss") && !shown.contains("password"), "{shown}");
    }
}
