//! Keyset (cursor) pagination behind opaque page tokens (`switchboard.common.v1.PageRequest`).
//!
//! A page token is the URL-safe base64 of a small versioned JSON [`Cursor`]: the sort key of the
//! last item served (its id last, as the tie-break), a fingerprint of the request's filters and
//! when it was issued. The next page is "every item strictly after that key in the list's
//! order", so a list paged while items arrive and leave never skips or repeats an item that
//! stayed in it (an offset would shift with every insert or removal before it). A token that
//! does not decode, was issued for other filters (or another list), or is older than 24 hours
//! answers INVALID_ARGUMENT on `page.page_token`.
//!
//! The store layer describes each list's order with a [`Keyset`] (columns, directions, the id
//! tie-break; nullable columns sort their NULLs last on every backend) and lets it add the ORDER
//! BY, the "after the cursor" condition and the one-extra-row LIMIT to a query; lists sorted in
//! memory use [`Page::slice`] with the same rules.

use std::cmp::Ordering;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{
    Condition, DbBackend, IntoSimpleExpr, QueryFilter, QueryOrder, QuerySelect, Value,
    sea_query::Func,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use switchboard_proto::{common::v1 as common, prost::Message};

use crate::errors::FieldViolation;

/// Page size when the request leaves it unset.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page served; bigger requests are clamped.
pub const MAX_PAGE_SIZE: u64 = 500;
/// How long a page token stays valid.
pub const TOKEN_TTL_SECS: i64 = 24 * 60 * 60;
/// Field path named by every page token violation.
pub const PAGE_TOKEN_FIELD: &str = "page.page_token";

const CURSOR_VERSION: u8 = 1;

/// One value of a sort key. `Null` sorts after every other value in either direction (NULLs
/// last), the same on SQLite, PostgreSQL and in memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KeyPart {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for KeyPart {
    fn from(v: i64) -> Self {
        KeyPart::Int(v)
    }
}
impl From<i32> for KeyPart {
    fn from(v: i32) -> Self {
        KeyPart::Int(v.into())
    }
}
impl From<bool> for KeyPart {
    fn from(v: bool) -> Self {
        KeyPart::Int(v.into())
    }
}
impl From<&str> for KeyPart {
    fn from(v: &str) -> Self {
        KeyPart::Text(v.to_string())
    }
}
impl From<String> for KeyPart {
    fn from(v: String) -> Self {
        KeyPart::Text(v)
    }
}
impl From<&String> for KeyPart {
    fn from(v: &String) -> Self {
        KeyPart::Text(v.clone())
    }
}
impl<T: Into<KeyPart>> From<Option<T>> for KeyPart {
    fn from(v: Option<T>) -> Self {
        v.map_or(KeyPart::Null, Into::into)
    }
}

/// Direction of one sort column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Asc,
    Desc,
}

impl Dir {
    /// The integer a NULL of an integer column stands for, so that NULLs sort last.
    fn null_sentinel(self) -> i64 {
        match self {
            Dir::Asc => i64::MAX,
            Dir::Desc => i64::MIN,
        }
    }
}

/// Compares two sort keys under `dirs` (one per key part; NULLs last in every direction).
pub fn compare_keys(a: &[KeyPart], b: &[KeyPart], dirs: &[Dir]) -> Ordering {
    for ((x, y), dir) in a.iter().zip(b).zip(dirs) {
        let natural = match (x, y) {
            (KeyPart::Null, KeyPart::Null) => Ordering::Equal,
            // NULLs last whatever the direction: decide before applying it.
            (KeyPart::Null, _) => return Ordering::Greater,
            (_, KeyPart::Null) => return Ordering::Less,
            (KeyPart::Int(x), KeyPart::Int(y)) => x.cmp(y),
            (KeyPart::Text(x), KeyPart::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
            (KeyPart::Int(_), KeyPart::Text(_)) => Ordering::Less,
            (KeyPart::Text(_), KeyPart::Int(_)) => Ordering::Greater,
        };
        let ord = match dir {
            Dir::Asc => natural,
            Dir::Desc => natural.reverse(),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// Fingerprint of the fields that select a list's items: the list's name and the request with
/// its `page` cleared. A token only continues the list it was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filter(u64);

impl Filter {
    /// `list` names the list (e.g. `"routing.ListConversations"`); `request` is the request
    /// with its `page` field cleared (every other field is part of the fingerprint).
    pub fn of<M: Message>(list: &str, request: &M) -> Self {
        let mut h = Sha256::new();
        h.update(list.as_bytes());
        h.update([0u8]);
        h.update(request.encode_to_vec());
        let digest = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Filter(u64::from_be_bytes(first))
    }

    /// A filter for lists served internally (not from a client token).
    pub fn internal(list: &str) -> Self {
        Self::of(list, &())
    }
}

/// The [`Filter`] of a list request: the request (a prost message with a `page` field) with its
/// page cleared, named by its type. `page_filter!(req)` for any `List…Request`.
#[macro_export]
macro_rules! page_filter {
    ($request:expr) => {{
        let mut filters = ::std::clone::Clone::clone(&$request);
        filters.page = ::std::option::Option::None;
        $crate::paging::Filter::of(::std::any::type_name_of_val(&filters), &filters)
    }};
}

/// The decoded content of a page token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Format version.
    v: u8,
    /// Filter fingerprint (hex).
    f: String,
    /// Issue time, Unix seconds.
    t: i64,
    /// Sort key of the last item served, its id last.
    k: Vec<KeyPart>,
}

impl Cursor {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    fn decode(token: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?;
        let cursor: Cursor = serde_json::from_slice(&bytes).ok()?;
        (cursor.v == CURSOR_VERSION && !cursor.k.is_empty()).then_some(cursor)
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A validated page selection: its size, the key to continue after, and the filters it is
/// bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    size: u64,
    after: Option<Vec<KeyPart>>,
    filter: Filter,
}

impl Page {
    /// Parses `page_size` (0 means the default; clamped to the maximum) and `page_token` (empty,
    /// or a token from a previous page of the same list with the same `filter`).
    pub fn parse(page_size: i32, page_token: &str, filter: Filter) -> Result<Self, FieldViolation> {
        Self::parse_at(page_size, page_token, filter, now_secs())
    }

    fn parse_at(
        page_size: i32,
        page_token: &str,
        filter: Filter,
        now: i64,
    ) -> Result<Self, FieldViolation> {
        if page_size < 0 {
            return Err(FieldViolation::new(
                "page.page_size",
                "must not be negative",
            ));
        }
        let size = match page_size as u64 {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        let after = if page_token.is_empty() {
            None
        } else {
            let cursor = Cursor::decode(page_token).ok_or_else(|| {
                FieldViolation::new(
                    PAGE_TOKEN_FIELD,
                    "not a token returned by a previous page of this list",
                )
            })?;
            if cursor.f != format!("{:016x}", filter.0) {
                return Err(FieldViolation::new(
                    PAGE_TOKEN_FIELD,
                    "was issued for other filters; keep every request field but the page \
                     unchanged, or start again without a token",
                ));
            }
            if now - cursor.t > TOKEN_TTL_SECS {
                return Err(FieldViolation::new(
                    PAGE_TOKEN_FIELD,
                    "is older than 24 hours; start again without a token",
                ));
            }
            Some(cursor.k)
        };
        Ok(Self {
            size,
            after,
            filter,
        })
    }

    /// The first page of `size` items of an internal list (no client token).
    pub fn first(size: u64, filter: Filter) -> Self {
        Self {
            size: size.clamp(1, MAX_PAGE_SIZE),
            after: None,
            filter,
        }
    }

    /// Items per page.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The sort key to continue strictly after, if this is not the first page.
    pub fn after(&self) -> Option<&[KeyPart]> {
        self.after.as_deref()
    }

    /// Rows to fetch: one more than the page, to know whether a next page exists.
    pub fn fetch_limit(&self) -> u64 {
        self.size + 1
    }

    fn token_for(&self, key: Vec<KeyPart>) -> String {
        Cursor {
            v: CURSOR_VERSION,
            f: format!("{:016x}", self.filter.0),
            t: now_secs(),
            k: key,
        }
        .encode()
    }

    /// Ends a page from rows fetched in order with [`Page::fetch_limit`]: keeps at most `size`
    /// and, when more followed, issues the token continuing after the last one kept (`key`
    /// gives an item's sort key, id last, in the order of the list's [`Keyset`]).
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> Vec<KeyPart>) -> Paged<T> {
        let more = rows.len() as u64 > self.size;
        rows.truncate(self.size as usize);
        let next_page_token = match rows.last() {
            Some(last) if more => self.token_for(key(last)),
            _ => String::new(),
        };
        Paged {
            items: rows,
            next_page_token,
        }
    }

    /// One page of a list held in memory: sorts `all` by `key` under `dirs` (one per key part,
    /// id last), keeps the items after the cursor and ends the page.
    pub fn slice<T>(
        &self,
        mut all: Vec<T>,
        dirs: &[Dir],
        key: impl Fn(&T) -> Vec<KeyPart>,
    ) -> Paged<T> {
        all.sort_by(|a, b| compare_keys(&key(a), &key(b), dirs));
        if let Some(after) = self.after() {
            all.retain(|item| compare_keys(&key(item), after, dirs) == Ordering::Greater);
        }
        all.truncate(self.fetch_limit() as usize);
        self.finish(all, key)
    }
}

/// One page of items and the token of the next page (empty on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next_page_token: String,
}

impl<T> Paged<T> {
    /// The same page with its items converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            next_page_token: self.next_page_token,
        }
    }

    /// The same page with its items converted fallibly.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Paged<U>, E> {
        Ok(Paged {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            next_page_token: self.next_page_token,
        })
    }

    /// The page metadata of the response, with `total` when the list counts its items.
    pub fn response(&self, total: Option<u64>) -> common::PageResponse {
        common::PageResponse {
            next_page_token: self.next_page_token.clone(),
            total_size: total.map(|t| t.min(i32::MAX as u64) as i32),
        }
    }
}

/// A list's order for SQL queries: columns (or expressions) with their direction, the unique
/// id last as the tie-break, ordered identically on SQLite and PostgreSQL (and as
/// [`compare_keys`] orders in memory): nullable integer columns sort their NULLs last (ordered
/// by `COALESCE(column, sentinel)`, since the backends disagree on where NULLs go), and text
/// columns compare by bytes (SQLite's default BINARY collation; `COLLATE "C"` on PostgreSQL,
/// whatever the database's locale).
#[derive(Debug, Clone)]
pub struct Keyset {
    backend: DbBackend,
    cols: Vec<(sea_orm::sea_query::SimpleExpr, Dir)>,
}

impl Keyset {
    /// An empty order for queries run on `backend` (`db.get_database_backend()`).
    pub fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            cols: Vec::new(),
        }
    }

    /// A non-null text column (an id, a name), ascending by bytes.
    pub fn asc_text(self, col: impl IntoSimpleExpr) -> Self {
        self.text(col, Dir::Asc)
    }

    /// A non-null text column, descending by bytes.
    pub fn desc_text(self, col: impl IntoSimpleExpr) -> Self {
        self.text(col, Dir::Desc)
    }

    fn text(mut self, col: impl IntoSimpleExpr, dir: Dir) -> Self {
        let expr = col.into_simple_expr();
        let expr = match self.backend {
            DbBackend::Postgres => {
                sea_orm::sea_query::SimpleExpr::cust_with_expr("($1 COLLATE \"C\")", expr)
            }
            _ => expr,
        };
        self.cols.push((expr, dir));
        self
    }

    /// A non-null integer column, ascending.
    pub fn asc(mut self, col: impl IntoSimpleExpr) -> Self {
        self.cols.push((col.into_simple_expr(), Dir::Asc));
        self
    }

    /// A non-null integer column, descending.
    pub fn desc(mut self, col: impl IntoSimpleExpr) -> Self {
        self.cols.push((col.into_simple_expr(), Dir::Desc));
        self
    }

    /// A nullable integer column, ascending, NULLs last.
    pub fn asc_nullable(self, col: impl IntoSimpleExpr) -> Self {
        self.nullable(col, Dir::Asc)
    }

    /// A nullable integer column, descending, NULLs last.
    pub fn desc_nullable(self, col: impl IntoSimpleExpr) -> Self {
        self.nullable(col, Dir::Desc)
    }

    fn nullable(mut self, col: impl IntoSimpleExpr, dir: Dir) -> Self {
        let expr = Func::coalesce([col.into_simple_expr(), dir.null_sentinel().into()]);
        self.cols.push((expr.into(), dir));
        self
    }

    /// The directions of the key parts, for [`compare_keys`].
    pub fn dirs(&self) -> Vec<Dir> {
        self.cols.iter().map(|(_, d)| *d).collect()
    }

    fn value(part: &KeyPart, dir: Dir) -> Value {
        match part {
            KeyPart::Null => Value::BigInt(Some(dir.null_sentinel())),
            KeyPart::Int(v) => Value::BigInt(Some(*v)),
            KeyPart::Text(s) => Value::String(Some(s.clone())),
        }
    }

    /// The condition "strictly after `key` in this order":
    /// `(a > ka) OR (a = ka AND b > kb) OR …`, with `<` for descending columns.
    pub fn after_condition(&self, key: &[KeyPart]) -> Condition {
        let mut any = Condition::any();
        for i in 0..self.cols.len().min(key.len()) {
            let mut all = Condition::all();
            for (j, (expr, dir)) in self.cols.iter().enumerate().take(i) {
                all = all.add(sea_orm::sea_query::ExprTrait::eq(
                    expr.clone(),
                    Self::value(&key[j], *dir),
                ));
            }
            let (expr, dir) = &self.cols[i];
            let v = Self::value(&key[i], *dir);
            all = all.add(match dir {
                Dir::Asc => sea_orm::sea_query::ExprTrait::gt(expr.clone(), v),
                Dir::Desc => sea_orm::sea_query::ExprTrait::lt(expr.clone(), v),
            });
            any = any.add(all);
        }
        any
    }

    /// Orders `query` by this keyset, keeps the rows after the page's cursor and fetches one
    /// row more than the page (see [`Page::finish`]).
    pub fn apply<Q>(&self, mut query: Q, page: &Page) -> Q
    where
        Q: QueryFilter + QueryOrder + QuerySelect,
    {
        if let Some(after) = page.after() {
            query = query.filter(self.after_condition(after));
        }
        for (expr, dir) in &self.cols {
            let order = match dir {
                Dir::Asc => sea_orm::Order::Asc,
                Dir::Desc => sea_orm::Order::Desc,
            };
            query = query.order_by(expr.clone(), order);
        }
        query.limit(page.fetch_limit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(state: &str) -> Filter {
        Filter::of(
            "test.List",
            &common::PageRequest {
                page_size: 0,
                page_token: state.to_string(),
            },
        )
    }

    fn next_token(page: &Page, key: Vec<KeyPart>) -> String {
        let rows = vec![key.clone(); page.fetch_limit() as usize];
        page.finish(rows, Clone::clone).next_page_token
    }

    #[test]
    fn a_token_round_trips_its_key_and_the_last_page_has_none() {
        let first = Page::parse(0, "", filter("queued")).expect("valid");
        assert_eq!(first.size(), DEFAULT_PAGE_SIZE);
        assert_eq!(first.after(), None);
        let key = vec![
            KeyPart::Int(-3),
            KeyPart::Null,
            KeyPart::Text("conv_é/+=".into()),
        ];
        let token = next_token(&first, key.clone());
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "URL-safe: {token}"
        );
        let second = Page::parse(7, &token, filter("queued")).expect("valid");
        assert_eq!(second.after(), Some(key.as_slice()));
        assert_eq!(second.size(), 7);
        let last = second.finish(vec![1, 2, 3], |_| vec![KeyPart::Int(1)]);
        assert_eq!(last.items, vec![1, 2, 3]);
        assert_eq!(last.next_page_token, "", "a short page is the last");
        let full = second.finish((0..8).collect(), |i| vec![KeyPart::Int(*i)]);
        assert_eq!(full.items.len(), 7, "the extra row is not served");
        let third = Page::parse(7, &full.next_page_token, filter("queued")).expect("valid");
        assert_eq!(third.after(), Some([KeyPart::Int(6)].as_slice()));
        assert_eq!(
            Page::parse(10_000, "", filter("x")).expect("valid").size(),
            MAX_PAGE_SIZE
        );
        assert_eq!(
            Page::parse(-1, "", filter("x")).expect_err("bad").field,
            "page.page_size"
        );
    }

    #[test]
    fn a_garbled_token_is_refused_on_page_token() {
        let page = Page::parse(0, "", filter("a")).expect("valid");
        let good = next_token(&page, vec![KeyPart::Text("id".into())]);
        let mut flipped = good.clone().into_bytes();
        flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).expect("ascii");
        for bad in [
            "garbage",
            "o50",
            "!!!",
            &good[..good.len() / 2],
            flipped.as_str(),
            &URL_SAFE_NO_PAD.encode(b"{\"v\":9,\"f\":\"\",\"t\":0,\"k\":[1]}"),
        ] {
            let err = Page::parse(0, bad, filter("a")).expect_err(bad);
            assert_eq!(err.field, PAGE_TOKEN_FIELD, "{bad}");
        }
    }

    #[test]
    fn a_token_reused_with_other_filters_or_another_list_is_refused() {
        let page = Page::parse(0, "", filter("queued")).expect("valid");
        let token = next_token(&page, vec![KeyPart::Int(1), KeyPart::Text("c".into())]);
        let err = Page::parse(0, &token, filter("open")).expect_err("other filters");
        assert_eq!(err.field, PAGE_TOKEN_FIELD);
        assert!(err.description.contains("other filters"));
        let other_list = Filter::of(
            "test.Other",
            &common::PageRequest {
                page_size: 0,
                page_token: "queued".into(),
            },
        );
        assert_eq!(
            Page::parse(0, &token, other_list)
                .expect_err("other list")
                .field,
            PAGE_TOKEN_FIELD
        );
        // The page size is not a filter.
        assert!(Page::parse(3, &token, filter("queued")).is_ok());
    }

    #[test]
    fn a_token_older_than_a_day_is_refused() {
        let page = Page::parse(0, "", filter("a")).expect("valid");
        let token = next_token(&page, vec![KeyPart::Int(1)]);
        let later = now_secs() + TOKEN_TTL_SECS + 5;
        let err = Page::parse_at(0, &token, filter("a"), later).expect_err("expired");
        assert_eq!(err.field, PAGE_TOKEN_FIELD);
    }

    #[test]
    fn an_in_memory_list_paged_while_it_changes_serves_every_stayer_once() {
        let dirs = [Dir::Desc, Dir::Asc, Dir::Asc];
        // (priority, queued ms or NULL, id)
        let key = |r: &(i64, Option<i64>, String)| {
            vec![r.0.into(), KeyPart::from(r.1), r.2.clone().into()]
        };
        let mut items: Vec<(i64, Option<i64>, String)> = (0..30)
            .map(|i| (i % 3, (i % 4 != 0).then_some(i * 10), format!("c{i:02}")))
            .collect();
        let stayers: Vec<String> = items
            .iter()
            .filter(|r| r.2.as_str() < "c05" || r.2.as_str() >= "c10")
            .map(|r| r.2.clone())
            .collect();
        let mut page = Page::parse(7, "", filter("w")).expect("valid");
        let mut seen = Vec::new();
        let mut round = 0;
        loop {
            let got = page.slice(items.clone(), &dirs, key);
            seen.extend(got.items.iter().map(|r| r.2.clone()));
            // Between pages: two arrive, one leaves.
            items.push((2, Some(round), format!("n{round}a")));
            items.push((0, None, format!("n{round}b")));
            items.retain(|r| r.2 != format!("c{:02}", 5 + round));
            round += 1;
            if got.next_page_token.is_empty() {
                break;
            }
            page = Page::parse(7, &got.next_page_token, filter("w")).expect("valid");
        }
        for id in &stayers {
            assert_eq!(seen.iter().filter(|s| *s == id).count(), 1, "{id}");
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "nothing served twice");
    }

    #[test]
    fn keyset_sql_orders_nulls_last_and_text_by_bytes_on_both_backends() {
        use sea_orm::{EntityTrait, QueryTrait};

        use crate::outbox::entity::{Column as C, Entity};
        let page = Page::parse(2, "", filter("k")).expect("valid");
        let token = next_token(&page, vec![KeyPart::Null, KeyPart::Text("evt_1".into())]);
        let page = Page::parse(2, &token, filter("k")).expect("valid");
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            let keyset = Keyset::new(backend)
                .desc_nullable(C::ClaimedUntilMs)
                .asc_text(C::EventId);
            let sql = keyset
                .apply(Entity::find(), &page)
                .build(backend)
                .to_string();
            assert!(sql.contains("COALESCE"), "{sql}");
            assert!(sql.contains("LIMIT 3"), "one extra row: {sql}");
            assert!(
                sql.contains(&i64::MIN.to_string()),
                "a NULL key is the sentinel: {sql}"
            );
            assert_eq!(
                sql.contains("COLLATE \"C\""),
                backend == DbBackend::Postgres,
                "{sql}"
            );
        }
    }

    #[test]
    fn nulls_sort_last_in_both_directions() {
        let a = [KeyPart::Null];
        let b = [KeyPart::Int(5)];
        assert_eq!(compare_keys(&a, &b, &[Dir::Asc]), Ordering::Greater);
        assert_eq!(compare_keys(&a, &b, &[Dir::Desc]), Ordering::Greater);
        assert_eq!(compare_keys(&b, &a, &[Dir::Desc]), Ordering::Less);
    }
}
