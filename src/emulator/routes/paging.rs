//! Paging and the other list conventions the APIs share: bounded `limit`/`offset`
//! values, offset links (Access Groups), opaque cursors (User Management), `sort` keys,
//! and re-encoding a list's filters into its links.

use std::ops::RangeInclusive;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::emulator::error::ApiError;
use crate::emulator::wire::{Href, Page};

/// A numeric query parameter: `default` when absent, 400 outside `range`.
pub fn bounded(
    name: &str,
    value: Option<usize>,
    default: usize,
    range: RangeInclusive<usize>,
) -> Result<usize, ApiError> {
    match value {
        None => Ok(default),
        Some(n) if range.contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid_parameter(format!(
            "Query parameter {name}={n} must be an integer from {} to {}.",
            range.start(),
            range.end()
        ))),
    }
}

/// The window of an offset-paged list (Access Groups): `limit` 0 to 100 (default 50)
/// items from `offset`.
#[derive(Clone, Copy)]
pub struct Window {
    pub limit: usize,
    pub offset: usize,
}

impl Window {
    pub fn of(limit: Option<usize>, offset: Option<usize>) -> Result<Window, ApiError> {
        Ok(Window {
            limit: bounded("limit", limit, 50, 0..=100)?,
            offset: bounded("offset", offset, 0, 0..=usize::MAX / 2)?,
        })
    }

    /// The window's items of the whole, filtered and sorted list, each turned into its
    /// body by `f`, and the paging links (`fixed` as for [`page`]).
    pub fn cut<T, U>(
        self,
        base_path: &str,
        fixed: &str,
        items: Vec<T>,
        f: impl FnMut(T) -> U,
    ) -> (Page, Vec<U>) {
        let total = items.len();
        let cut = items
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .map(f)
            .collect();
        (page(base_path, fixed, self.limit, self.offset, total), cut)
    }
}

/// Offset paging links. `fixed` is the query before `limit`/`offset`, already encoded.
fn page(base_path: &str, fixed: &str, limit: usize, offset: usize, total: usize) -> Page {
    let href = |off: usize| {
        let sep = if fixed.is_empty() { "" } else { "&" };
        Href {
            href: format!("{base_path}?{fixed}{sep}limit={limit}&offset={off}"),
        }
    };
    // limit=0 pages nowhere: only `first` (no division by zero, no endless `next`).
    let (previous, next, last) = match total.saturating_sub(1).checked_div(limit) {
        None => (None, None, None),
        Some(last_page) => (
            (offset > 0).then(|| href(offset.saturating_sub(limit))),
            (offset + limit < total).then(|| href(offset + limit)),
            Some(href(last_page * limit)),
        ),
    };
    Page {
        limit,
        offset,
        total_count: total,
        first: href(0),
        previous,
        next,
        last,
    }
}

/// The opaque `_start` cursor of User Management: a user's insertion sequence, so it
/// stays valid when users are added or removed (open question 4).
pub fn encode_cursor(seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("emu:{seq}"))
}

pub fn decode_cursor(raw: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("emu:")?
        .parse()
        .ok()
}

/// A `sort` value: a field, descending when prefixed with `-`.
pub struct Sort<'a> {
    pub field: &'a str,
    pub descending: bool,
}

impl Sort<'_> {
    pub fn apply(&self, order: std::cmp::Ordering) -> std::cmp::Ordering {
        if self.descending {
            order.reverse()
        } else {
            order
        }
    }
}

/// The `sort` parameter, which must name one of `allowed`; `None` when absent or empty.
pub fn sort_key<'a>(sort: Option<&'a str>, allowed: &[&str]) -> Result<Option<Sort<'a>>, ApiError> {
    let Some(raw) = sort.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let (field, descending) = match raw.strip_prefix('-') {
        Some(f) => (f, true),
        None => (raw, false),
    };
    if allowed.contains(&field) {
        Ok(Some(Sort { field, descending }))
    } else {
        Err(ApiError::invalid_parameter(format!(
            "sort={raw:?} is not supported; use one of {}.",
            allowed.join(", ")
        )))
    }
}

/// A list's filter parameters, re-encoded in a fixed order for its paging links.
#[derive(Default)]
pub struct LinkQuery(Vec<String>);

impl LinkQuery {
    /// Adds `name=value` when the request gave the parameter.
    pub fn text(mut self, name: &str, value: Option<&str>) -> LinkQuery {
        if let Some(v) = value {
            self.0.push(format!("{name}={}", percent_encode(v)));
        }
        self
    }

    pub fn flag(self, name: &str, value: Option<bool>) -> LinkQuery {
        let text = value.map(|b| if b { "true" } else { "false" });
        self.text(name, text)
    }

    pub fn finish(self) -> String {
        self.0.join("&")
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters. Hand-written rather than
/// `form_urlencoded`, whose `+` for a space and unescaped `*` would change the links.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The inverse of [`percent_encode`] (and of `+` for a space): `None` for a malformed
/// escape or text that is not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let text = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(text, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// `a=1&b=x%20y` as decoded pairs; `None` if any part is malformed.
pub fn parse_query(text: &str) -> Option<Vec<(String, String)>> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_foreign_values() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("42"), None);
    }

    #[test]
    fn paging_links_have_integer_offsets_and_no_next_on_last_page() {
        let p = page("http://h/v2/groups", "account_id=a", 50, 100, 120);
        assert_eq!(
            p.previous.map(|h| h.href),
            Some("http://h/v2/groups?account_id=a&limit=50&offset=50".into())
        );
        assert!(p.next.is_none());
        assert_eq!(
            p.last.map(|h| h.href),
            Some("http://h/v2/groups?account_id=a&limit=50&offset=100".into())
        );
        let p = page("http://h/m", "", 50, 0, 0);
        assert_eq!(p.first.href, "http://h/m?limit=50&offset=0");
        assert!(p.next.is_none() && p.previous.is_none());
    }

    #[test]
    fn bounds_default_and_refuse_out_of_range() {
        assert_eq!(bounded("limit", None, 50, 0..=100), Ok(50));
        assert_eq!(bounded("limit", Some(0), 50, 0..=100), Ok(0));
        let e = bounded("limit", Some(101), 50, 0..=100).expect_err("over");
        assert_eq!((e.status, e.code), (400, "invalid_parameter"));
        assert!(e.message.contains("limit=101"), "{}", e.message);
    }

    #[test]
    fn sort_keys_and_link_queries() {
        let s = sort_key(Some("-name"), &["id", "name"])
            .expect("ok")
            .expect("some");
        assert_eq!((s.field, s.descending), ("name", true));
        assert!(sort_key(Some(""), &["id"]).expect("ok").is_none());
        assert!(sort_key(Some("email"), &["id"]).is_err());
        let q = LinkQuery::default()
            .text("search", Some("state:A b~"))
            .text("absent", None)
            .flag("verbose", Some(false))
            .finish();
        assert_eq!(q, "search=state%3AA%20b~&verbose=false");
        assert_eq!(
            parse_query("search=state%3AA%20b~&x=&y"),
            Some(vec![
                ("search".into(), "state:A b~".into()),
                ("x".into(), String::new()),
                ("y".into(), String::new())
            ])
        );
        assert_eq!(parse_query("a=%zz"), None);
    }
}
