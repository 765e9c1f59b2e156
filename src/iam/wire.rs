//! IBM's wire format as the client reads it, and nothing else.
//!
//! These types are the client's own (the emulator has its own, so a misreading cannot agree
//! with itself). They are deliberately tolerant: every field is optional, unknown fields are
//! ignored, a string field that arrives as a number is taken as its text, and a count that
//! arrives as a numeric string is taken as its number. Whether a missing field matters is
//! decided by the code that uses it, with an error that names the call.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::error::ApiErrorInfo;

/// A string that tolerates numbers, booleans and null (as `None`).
pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// A count that tolerates numeric strings; negative, fractional or absent → `None`.
pub(crate) fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// An object that tolerates any other shape (as absent) instead of failing the page.
pub(crate) fn lenient_opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

/// A list that tolerates `null` (as empty) and drops elements that are not objects of the
/// expected shape instead of failing the whole page.
pub(crate) fn lenient_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        _ => Vec::new(),
    })
}

// ---------------------------------------------------------------------------
// Token service (docs/ibm-api.md, token service)

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TokenResponse {
    #[serde(deserialize_with = "lenient_string")]
    pub access_token: Option<String>,
    #[serde(deserialize_with = "lenient_u64")]
    pub expires_in: Option<u64>,
    #[serde(deserialize_with = "lenient_u64")]
    pub expiration: Option<u64>,
}

/// The claims of the access token's payload that orgsync uses.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct JwtClaims {
    #[serde(deserialize_with = "lenient_string")]
    pub iam_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub sub: Option<String>,
    pub account: Option<JwtAccount>,
    #[serde(deserialize_with = "lenient_u64")]
    pub iat: Option<u64>,
    #[serde(deserialize_with = "lenient_u64")]
    pub exp: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct JwtAccount {
    #[serde(deserialize_with = "lenient_string")]
    pub bss: Option<String>,
}

// ---------------------------------------------------------------------------
// User Management v2 (docs/ibm-api.md, User Management)

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UserList {
    #[serde(deserialize_with = "lenient_string")]
    pub next_url: Option<String>,
    /// `None` when the key is absent or null; the pager treats that as a malformed page.
    pub resources: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct UserProfile {
    #[serde(deserialize_with = "lenient_string")]
    pub iam_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub email: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub state: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub added_on: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct InvitedUserList {
    #[serde(deserialize_with = "lenient_vec")]
    pub resources: Vec<InvitedUserItem>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct InvitedUserItem {
    #[serde(deserialize_with = "lenient_string")]
    pub email: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub state: Option<String>,
}

// ---------------------------------------------------------------------------
// Access Groups v2 (docs/ibm-api.md, Access Groups)

/// `GroupsList` and `GroupMembersList` share this envelope; `items` is read from `groups`
/// or `members` by the caller.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OffsetPage {
    #[serde(deserialize_with = "lenient_u64")]
    pub limit: Option<u64>,
    #[serde(deserialize_with = "lenient_u64")]
    pub total_count: Option<u64>,
    pub next: Option<Href>,
    pub groups: Option<Value>,
    pub members: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Href {
    #[serde(deserialize_with = "lenient_string")]
    pub href: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Group {
    #[serde(deserialize_with = "lenient_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Member {
    #[serde(deserialize_with = "lenient_string")]
    pub iam_id: Option<String>,
    #[serde(rename = "type", deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    /// `static` or `dynamic` (from a rule); absent means static.
    #[serde(deserialize_with = "lenient_string")]
    pub membership_type: Option<String>,
}

/// The 207 body of add-members and bulk-delete: one item per requested member.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MemberResults {
    #[serde(deserialize_with = "lenient_vec")]
    pub members: Vec<MemberResult>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct MemberResult {
    #[serde(deserialize_with = "lenient_string")]
    pub iam_id: Option<String>,
    #[serde(deserialize_with = "lenient_u64")]
    pub status_code: Option<u64>,
    #[serde(deserialize_with = "lenient_string")]
    pub trace: Option<String>,
    #[serde(deserialize_with = "lenient_vec")]
    pub errors: Vec<ErrorItem>,
}

impl MemberResult {
    /// `None` when this member succeeded: a 2xx `status_code` (or none) and no `errors`.
    pub fn failure(&self) -> Option<ApiErrorInfo> {
        let status = self.status_code.and_then(|s| u16::try_from(s).ok());
        let ok_status = status.is_none_or(|s| (200..300).contains(&s));
        if ok_status && self.errors.is_empty() {
            return None;
        }
        let first = self.errors.first();
        Some(ApiErrorInfo {
            status,
            code: first.and_then(ErrorItem::code_text),
            message: first
                .and_then(ErrorItem::message_text)
                .unwrap_or_else(|| "IBM reported a failure for this member".to_string()),
            transaction_id: self.trace.clone(),
        })
    }
}

// ---------------------------------------------------------------------------
// Errors (docs/ibm-api.md, errors)

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ErrorItem {
    /// A string in current bodies, a number in older ones: kept as any JSON value.
    pub code: Option<Value>,
    #[serde(deserialize_with = "lenient_string")]
    pub message: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    pub more_info: Option<String>,
}

impl ErrorItem {
    fn code_text(&self) -> Option<String> {
        match self.code.as_ref()? {
            Value::String(s) if !s.trim().is_empty() => Some(one_line(s, 100)),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The message, with `more_info` appended when it adds something (the 409 invite body
    /// says "please try again after one minute" only there).
    fn message_text(&self) -> Option<String> {
        let message = self
            .message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty());
        let more = self
            .more_info
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty());
        match (message, more) {
            (Some(m), Some(x)) if !m.contains(x) => Some(one_line(&format!("{m} ({x})"), 400)),
            (Some(m), _) => Some(one_line(m, 400)),
            (None, Some(x)) => Some(one_line(x, 400)),
            (None, None) => None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorEnvelope {
    #[serde(deserialize_with = "lenient_string")]
    trace: Option<String>,
    #[serde(deserialize_with = "lenient_vec")]
    errors: Vec<ErrorItem>,
    // The token service's shape.
    #[serde(rename = "errorCode", deserialize_with = "lenient_string")]
    error_code: Option<String>,
    #[serde(rename = "errorMessage", deserialize_with = "lenient_string")]
    error_message: Option<String>,
    context: Option<TokenErrorContext>,
    // Other shapes IBM's SDK cores fall back to.
    #[serde(deserialize_with = "lenient_string")]
    error: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenErrorContext {
    #[serde(rename = "requestId", deserialize_with = "lenient_string")]
    request_id: Option<String>,
}

/// Reads whatever IBM sent with an error status into one [`ApiErrorInfo`]: the platform
/// envelope (`errors[]`, numeric or string `code`, `status_code` optional), the token
/// service's `errorCode`/`errorMessage`, a plain-text body (IBM's 429s), an HTML page (a
/// proxy or load balancer), or nothing at all. `header_tx` is the transaction id from the
/// response headers, preferred over the body's `trace`.
pub(crate) fn parse_error_body(
    status: u16,
    body: &[u8],
    header_tx: Option<String>,
) -> ApiErrorInfo {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error");
    let mut info = ApiErrorInfo {
        status: Some(status),
        code: None,
        message: String::new(),
        transaction_id: header_tx,
    };
    let parsed = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .and_then(|v| serde_json::from_value::<ErrorEnvelope>(v).ok());
    if let Some(env) = parsed {
        let first = env.errors.first();
        info.code = first
            .and_then(ErrorItem::code_text)
            .or_else(|| env.error_code.as_deref().map(|c| one_line(c, 100)));
        info.message = first
            .and_then(ErrorItem::message_text)
            .or_else(|| env.error_message.as_deref().map(|m| one_line(m, 400)))
            .or_else(|| env.error.as_deref().map(|m| one_line(m, 400)))
            .or_else(|| env.message.as_deref().map(|m| one_line(m, 400)))
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| reason.to_string());
        if info.transaction_id.is_none() {
            info.transaction_id = env
                .trace
                .or_else(|| env.context.and_then(|c| c.request_id))
                .map(|t| one_line(&t, 100))
                .filter(|t| !t.is_empty());
        }
        return info;
    }
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    info.message = if trimmed.is_empty() {
        reason.to_string()
    } else if looks_like_html(trimmed) {
        match html_title(trimmed) {
            Some(title) => {
                format!("{reason} (an HTML page titled \"{title}\", not IBM's JSON error)")
            }
            None => format!("{reason} (an HTML page, not IBM's JSON error)"),
        }
    } else {
        one_line(trimmed, 300)
    };
    info
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .chars()
        .take(100)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html") || head.contains("<head")
}

fn html_title(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower.get(start..)?.find("</title>")?;
    let title = one_line(text.get(start..end)?, 100);
    (!title.is_empty()).then_some(title)
}

/// Collapses whitespace (newlines included) to single spaces and truncates to `max` chars,
/// so that whatever a server sends stays one line of a report.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.chars().count() > max {
        let mut cut: String = out.chars().take(max).collect();
        cut.push('…');
        cut
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibm_apidocs_envelope_with_string_code_and_status_code() {
        let body = br#"{"trace":"5fe166b7b56f42819d39525344195908","errors":[{"code":"invalid_body","message":"Access groups can only be assigned against resources in the same account as the access group."}],"status_code":400}"#;
        let info = parse_error_body(400, body, None);
        assert_eq!(info.status, Some(400));
        assert_eq!(info.code.as_deref(), Some("invalid_body"));
        assert!(
            info.message
                .starts_with("Access groups can only be assigned")
        );
        assert_eq!(
            info.transaction_id.as_deref(),
            Some("5fe166b7b56f42819d39525344195908")
        );
    }

    #[test]
    fn numeric_code_without_status_code_is_read_as_text() {
        let body = br#"{"trace":"51719293124","errors":[{"code":1025,"message":"Not Authorized.","more_info":"Can not assign IaaS for non-linked account."}]}"#;
        let info = parse_error_body(401, body, None);
        assert_eq!(info.code.as_deref(), Some("1025"));
        assert_eq!(
            info.message,
            "Not Authorized. (Can not assign IaaS for non-linked account.)"
        );
        assert_eq!(info.transaction_id.as_deref(), Some("51719293124"));
    }

    #[test]
    fn blank_more_info_is_not_appended() {
        let body = br#"{"trace":"51891495311","errors":[{"code":9999,"message":"Current user does not have access to team directory.","more_info":" "}]}"#;
        let info = parse_error_body(403, body, None);
        assert_eq!(info.code.as_deref(), Some("9999"));
        assert_eq!(
            info.message,
            "Current user does not have access to team directory."
        );
    }

    #[test]
    fn invite_conflict_keeps_the_processing_hint_from_more_info() {
        let body = br#"{"trace":"10778924-a33c-4684-b720-04d63a9867e2","errors":[{"code":"Conflict","message":"Invite request blocked : gaston.lagaffe@bnpparibas.com","more_info":"the following user(s) are already in processing state, please try again after one minute"}],"status_code":409}"#;
        let info = parse_error_body(409, body, Some("hdr-tx".into()));
        assert_eq!(info.code.as_deref(), Some("Conflict"));
        assert!(info.message.contains("already in processing state"));
        // The header's id is preferred over the body's trace.
        assert_eq!(info.transaction_id.as_deref(), Some("hdr-tx"));
    }

    #[test]
    fn token_service_error_shape_is_read() {
        let body = br#"{"errorCode":"BXNIM0415E","errorMessage":"Provided API key could not be found.","context":{"requestId":"bTlidjk-91c2c5d491364775817d4e78ad5d8d00","requestType":"incoming.Identity_Token","elapsedTime":"85"}}"#;
        let info = parse_error_body(400, body, None);
        assert_eq!(info.code.as_deref(), Some("BXNIM0415E"));
        assert_eq!(info.message, "Provided API key could not be found.");
        assert_eq!(
            info.transaction_id.as_deref(),
            Some("bTlidjk-91c2c5d491364775817d4e78ad5d8d00")
        );
    }

    #[test]
    fn plain_text_429_body_becomes_the_message() {
        let info = parse_error_body(
            429,
            b"User based rate limit for list service ids API\n",
            None,
        );
        assert_eq!(info.code, None);
        assert_eq!(
            info.message,
            "User based rate limit for list service ids API"
        );
    }

    #[test]
    fn html_error_page_is_summarized_by_its_title() {
        let body = b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1>\n</body></html>";
        let info = parse_error_body(502, body, None);
        assert_eq!(
            info.message,
            "Bad Gateway (an HTML page titled \"502 Bad Gateway\", not IBM's JSON error)"
        );
        let info = parse_error_body(503, b"<html><body>down</body></html>", None);
        assert_eq!(
            info.message,
            "Service Unavailable (an HTML page, not IBM's JSON error)"
        );
    }

    #[test]
    fn empty_or_odd_bodies_fall_back_to_the_reason_phrase() {
        assert_eq!(parse_error_body(404, b"", None).message, "Not Found");
        assert_eq!(parse_error_body(500, b"[1,2]", None).message, "[1,2]");
        let info = parse_error_body(500, br#"{"errors": null, "message": "boom"}"#, None);
        assert_eq!(info.message, "boom");
        let info = parse_error_body(500, br#"{"errors": [{"code": null}]}"#, None);
        assert_eq!(
            (info.code, info.message.as_str()),
            (None, "Internal Server Error")
        );
        // The apidocs example is itself invalid JSON (a missing comma): read as text.
        let broken = b"{\n \"trace\": \"9dae\",\n \"errors\": [{\"code\": \"invalid_access_token\"}]\n \"status_code\": 401\n}";
        let info = parse_error_body(401, broken, None);
        assert!(!info.message.contains('\n'));
    }

    use proptest::prelude::*;

    const VERBATIM: &[&str] = &[
        r#"{"limit": 5, "offset": 6, "total_count": 11, "first": {"href": "href"}, "next": {"href": "href"}, "groups": [{"id": "id", "name": "name", "description": "description", "created_at": "2019-01-01T12:00:00.000Z", "is_federated": true}]}"#,
        r#"{"total_results": 13, "limit": 5, "first_url": "first_url", "next_url": "next_url", "resources": [{"id": "id", "iam_id": "iam_id", "realm": "realm", "state": "state", "email": "email", "added_on": "added_on"}]}"#,
        r#"{"members": [{"iam_id": "iam_id", "type": "type", "status_code": 11, "trace": "trace", "errors": [{"code": "code", "message": "message"}]}]}"#,
        r#"{"trace":"51719293124","errors":[{"code":1025,"message":"Not Authorized.","more_info":"Can not assign IaaS for non-linked account."}]}"#,
        r#"{"errorCode":"BXNIM0415E","errorMessage":"Provided API key could not be found.","context":{"requestId":"r"}}"#,
        r#"{"access_token": "a.b.c", "refresh_token": "not_supported", "token_type": "Bearer", "expires_in": 3600, "expiration": 1727978763, "scope": "ibm openid"}"#,
    ];

    proptest! {
        #[test]
        fn any_error_body_becomes_one_short_nonempty_line(
            status in 100u16..600,
            body in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..600),
                "[\\[\\]{}\":,0-9a-z_\n ]{0,300}".prop_map(String::into_bytes),
            ],
        ) {
            let info = parse_error_body(status, &body, None);
            prop_assert!(!info.message.contains('\n'));
            prop_assert!(!info.message.is_empty());
            prop_assert!(info.message.chars().count() <= 450);
            prop_assert!(info.code.iter().all(|c| !c.contains('\n')));
        }

        #[test]
        fn truncated_ibm_payloads_are_parsed_or_refused_without_panicking(
            which in 0..VERBATIM.len(),
            cut in 0usize..400,
        ) {
            let text = VERBATIM[which];
            let body = &text.as_bytes()[..cut.min(text.len())];
            let _ = serde_json::from_slice::<OffsetPage>(body);
            let _ = serde_json::from_slice::<UserList>(body);
            let _ = serde_json::from_slice::<MemberResults>(body).map(|r| {
                r.members.iter().map(MemberResult::failure).count()
            });
            let _ = serde_json::from_slice::<InvitedUserList>(body);
            let _ = serde_json::from_slice::<TokenResponse>(body);
            let info = parse_error_body(500, body, None);
            prop_assert!(!info.message.is_empty());
        }
    }

    #[test]
    fn one_line_collapses_whitespace_and_truncates_on_char_boundaries() {
        assert_eq!(one_line(" a\n\tb  c ", 100), "a b c");
        assert_eq!(one_line("ééééé", 3), "ééé…");
    }
}
