//! Ticket search, one behaviour on two engines behind [`TicketSearch`]:
//! - PostgreSQL: `tickets.search_document` (a tsvector the database keeps with triggers: the
//!   subject (weight A) and description (B), plus comments and appended histories (C)), a GIN
//!   index, `websearch_to_tsquery('switchboard_search', …)` (`simple` with
//!   `unaccent`), ranked by `ts_rank_cd`.
//! - SQLite: the FTS5 table `ticket_search` (`unicode61 remove_diacritics 2`, rowid = the
//!   ticket's rowid) the store writes in the ticket's transaction, ranked by `bm25` with the
//!   same column weights; the web-search syntax ("phrase", -word, or) is translated to FTS5.
//!
//! A word search pages by (score, number) descending, the score an integer (the rank times a
//! million) so page tokens carry it exactly.

use async_trait::async_trait;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, PaginatorTrait,
    QueryFilter, Value,
};
use switchboard_runtime::{
    ids::{OrganizationId, TicketId},
    paging::{KeyPart, Keyset, Page, Paged},
    tenancy::of_org,
};

use super::{TicketFilter, TicketQuery, entities::tickets, stmt, ticket_from_row};
use crate::domain::Ticket;

/// How one engine indexes and matches tickets.
#[async_trait]
pub trait TicketSearch: Send + Sync {
    /// A ticket's subject or description was written (`new`: first written).
    async fn ticket_written(
        &self,
        tx: &DatabaseTransaction,
        ticket: &Ticket,
        new: bool,
    ) -> Result<(), DbErr>;
    /// Words of a comment or history joined a ticket.
    async fn action_written(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        ticket: &TicketId,
        text: &str,
    ) -> Result<(), DbErr>;
    /// SQL selecting `id`, `number` and an integer `score` of the organization's tickets
    /// matching the words (the first `?` binds [`TicketSearch::match_value`], the second the
    /// organization), with `filters` (an `AND …` fragment over alias `t`) appended.
    fn matching_sql(&self, filters: &str) -> String;
    /// The value bound to the match placeholder; `None` when the words can match nothing.
    fn match_value(&self, words: &str) -> Option<String>;
}

/// PostgreSQL full-text search: the database keeps the document; nothing to write.
pub struct PostgresSearch;

#[async_trait]
impl TicketSearch for PostgresSearch {
    async fn ticket_written(
        &self,
        _tx: &DatabaseTransaction,
        _ticket: &Ticket,
        _new: bool,
    ) -> Result<(), DbErr> {
        Ok(())
    }

    async fn action_written(
        &self,
        _tx: &DatabaseTransaction,
        _org: &OrganizationId,
        _ticket: &TicketId,
        _text: &str,
    ) -> Result<(), DbErr> {
        Ok(())
    }

    fn matching_sql(&self, filters: &str) -> String {
        format!(
            "SELECT t.id AS id, t.number AS number, \
             CAST(ts_rank_cd(t.search_document, q.query) * 1000000 AS BIGINT) AS score \
             FROM tickets t, (SELECT websearch_to_tsquery('switchboard_search', ?) AS query) q \
             WHERE t.search_document @@ q.query AND t.organization_id = ?{filters}"
        )
    }

    fn match_value(&self, words: &str) -> Option<String> {
        (!words.trim().is_empty()).then(|| words.to_string())
    }
}

/// SQLite FTS5, kept by the store in the ticket's transaction.
pub struct SqliteSearch;

#[async_trait]
impl TicketSearch for SqliteSearch {
    async fn ticket_written(
        &self,
        tx: &DatabaseTransaction,
        ticket: &Ticket,
        new: bool,
    ) -> Result<(), DbErr> {
        let backend = tx.get_database_backend();
        let sql = if new {
            "INSERT INTO ticket_search (rowid, ticket_id, organization_id, subject, description, actions) \
             SELECT rowid, id, organization_id, ?, ?, '' FROM tickets \
             WHERE organization_id = ? AND id = ?"
        } else {
            "UPDATE ticket_search SET subject = ?, description = ? \
             WHERE rowid = (SELECT rowid FROM tickets WHERE organization_id = ? AND id = ?)"
        };
        tx.execute_raw(stmt(
            backend,
            sql,
            vec![
                ticket.subject.clone().into(),
                ticket.description.clone().into(),
                ticket.organization_id.as_str().into(),
                ticket.id.as_str().into(),
            ],
        ))
        .await?;
        Ok(())
    }

    async fn action_written(
        &self,
        tx: &DatabaseTransaction,
        org: &OrganizationId,
        ticket: &TicketId,
        text: &str,
    ) -> Result<(), DbErr> {
        tx.execute_raw(stmt(
            tx.get_database_backend(),
            "UPDATE ticket_search SET actions = actions || char(10) || ? \
             WHERE rowid = (SELECT rowid FROM tickets WHERE organization_id = ? AND id = ?)",
            vec![text.into(), org.as_str().into(), ticket.as_str().into()],
        ))
        .await?;
        Ok(())
    }

    fn matching_sql(&self, filters: &str) -> String {
        format!(
            "SELECT t.id AS id, t.number AS number, \
             CAST(-bm25(ticket_search, 0.0, 0.0, 10.0, 4.0, 1.0) * 1000000 AS INTEGER) AS score \
             FROM ticket_search JOIN tickets t ON t.rowid = ticket_search.rowid \
             WHERE ticket_search MATCH ? AND t.organization_id = ?{filters}"
        )
    }

    fn match_value(&self, words: &str) -> Option<String> {
        websearch_to_fts5(words)
    }
}

/// Translates web-search syntax (words, "quoted phrases", -excluded, or) into an FTS5 query
/// of quoted terms, so no input is FTS5 syntax. `None` when nothing positive is left.
pub fn websearch_to_fts5(query: &str) -> Option<String> {
    #[derive(Debug)]
    enum Tok {
        Term(String, bool),
        Or,
    }
    let quote = |s: &str| format!("\"{}\"", s.replace('"', ""));
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut toks = Vec::new();
    let mut rest = query;
    while !rest.is_empty() {
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            break;
        }
        let (negated, body) = match trimmed.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, trimmed),
        };
        if let Some(inner) = body.strip_prefix('"') {
            let end = inner.find('"').unwrap_or(inner.len());
            let phrase = words(&inner[..end]).join(" ");
            if !phrase.is_empty() {
                toks.push(Tok::Term(quote(&phrase), negated));
            }
            rest = inner.get(end + 1..).unwrap_or("");
            continue;
        }
        let end = body.find(char::is_whitespace).unwrap_or(body.len());
        let word = &body[..end];
        rest = &body[end..];
        if !negated && word.eq_ignore_ascii_case("or") {
            toks.push(Tok::Or);
            continue;
        }
        let parts = words(word);
        if !parts.is_empty() {
            toks.push(Tok::Term(quote(&parts.join(" ")), negated));
        }
    }
    // Positive terms: AND, with "or" joining neighbours; then NOT each excluded one.
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut joined = false;
    let mut excluded = Vec::new();
    for tok in toks {
        match tok {
            Tok::Or => joined = !groups.is_empty(),
            Tok::Term(t, true) => excluded.push(t),
            Tok::Term(t, false) => {
                match groups.last_mut() {
                    Some(g) if joined => g.push(t),
                    _ => groups.push(vec![t]),
                }
                joined = false;
            }
        }
    }
    if groups.is_empty() {
        return None;
    }
    let mut out = groups
        .into_iter()
        .map(|g| {
            if g.len() == 1 {
                g.into_iter().next().unwrap_or_default()
            } else {
                format!("({})", g.join(" OR "))
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ");
    for e in excluded {
        out = format!("({out}) NOT {e}");
    }
    Some(out)
}

/// The `AND …` fragment of the filters over alias `t`, with its values.
fn filter_sql(filter: &TicketFilter) -> (String, Vec<Value>) {
    let mut sql = String::new();
    let mut values: Vec<Value> = Vec::new();
    if !filter.statuses.is_empty() {
        let marks = vec!["?"; filter.statuses.len()].join(", ");
        sql.push_str(&format!(" AND t.status IN ({marks})"));
        values.extend(filter.statuses.iter().map(|s| s.as_str().into()));
    }
    if let Some(c) = &filter.requester_contact_id {
        sql.push_str(" AND t.requester_contact_id = ?");
        values.push(c.clone().into());
    }
    if let Some(a) = &filter.assignee_agent_id {
        sql.push_str(" AND t.assignee_agent_id = ?");
        values.push(a.clone().into());
    }
    if let Some(from) = filter.created_from_ms {
        sql.push_str(" AND t.create_ms >= ?");
        values.push(from.into());
    }
    if let Some(until) = filter.created_until_ms {
        sql.push_str(" AND t.create_ms < ?");
        values.push(until.into());
    }
    (sql, values)
}

fn filtered(
    mut q: sea_orm::Select<tickets::Entity>,
    filter: &TicketFilter,
) -> sea_orm::Select<tickets::Entity> {
    if !filter.statuses.is_empty() {
        q = q.filter(
            tickets::Column::Status.is_in(filter.statuses.iter().map(|s| s.as_str().to_string())),
        );
    }
    if let Some(c) = &filter.requester_contact_id {
        q = q.filter(tickets::Column::RequesterContactId.eq(c.as_str()));
    }
    if let Some(a) = &filter.assignee_agent_id {
        q = q.filter(tickets::Column::AssigneeAgentId.eq(a.as_str()));
    }
    if let Some(from) = filter.created_from_ms {
        q = q.filter(tickets::Column::CreateMs.gte(from));
    }
    if let Some(until) = filter.created_until_ms {
        q = q.filter(tickets::Column::CreateMs.lt(until));
    }
    q
}

/// Lists (`All`, `Number`) or searches (`Words`) the organization's tickets.
pub async fn list(
    db: &DatabaseConnection,
    engine: &dyn TicketSearch,
    org: &OrganizationId,
    query: &TicketQuery,
    filter: &TicketFilter,
    page: &Page,
) -> Result<(Paged<Ticket>, u64), DbErr> {
    match query {
        TicketQuery::All | TicketQuery::Number(_) => {
            let mut q = filtered(of_org::<tickets::Entity>(org), filter);
            if let TicketQuery::Number(n) = query {
                q = q.filter(tickets::Column::Number.eq(*n));
            }
            let total = q.clone().count(db).await?;
            let keyset = Keyset::new(db.get_database_backend())
                .desc(tickets::Column::UpdateMs)
                .desc_text(tickets::Column::Id);
            let rows = keyset.apply(q, page).all(db).await?;
            let paged = page
                .finish(rows, |r| vec![r.update_ms.into(), r.id.as_str().into()])
                .try_map(ticket_from_row)?;
            Ok((paged, total))
        }
        TicketQuery::Words(words) => search(db, engine, org, words, filter, page).await,
    }
}

async fn search(
    db: &DatabaseConnection,
    engine: &dyn TicketSearch,
    org: &OrganizationId,
    words: &str,
    filter: &TicketFilter,
    page: &Page,
) -> Result<(Paged<Ticket>, u64), DbErr> {
    let Some(matched) = engine.match_value(words) else {
        return Ok((page.finish(Vec::new(), |_: &Ticket| Vec::new()), 0));
    };
    let backend = db.get_database_backend();
    let (filters, filter_values) = filter_sql(filter);
    let inner = engine.matching_sql(&filters);
    let mut base: Vec<Value> = vec![matched.into(), org.as_str().into()];
    base.extend(filter_values);

    let count = db
        .query_one_raw(stmt(
            backend,
            &format!("SELECT COUNT(*) AS n FROM ({inner}) m"),
            base.clone(),
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);

    let mut values = base;
    let mut after = String::new();
    if let Some(key) = page.after() {
        let (Some(KeyPart::Int(score)), Some(KeyPart::Int(number))) = (key.first(), key.get(1))
        else {
            return Err(DbErr::Custom(
                "a search page token carries a score and a number".into(),
            ));
        };
        after = " WHERE (m.score < ? OR (m.score = ? AND m.number < ?))".into();
        values.extend([(*score).into(), (*score).into(), (*number).into()]);
    }
    values.push((page.fetch_limit() as i64).into());
    let rows = db
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT m.id AS id, m.number AS number, m.score AS score FROM ({inner}) m{after} \
                 ORDER BY m.score DESC, m.number DESC LIMIT ?"
            ),
            values,
        ))
        .await?;
    let mut hits: Vec<(String, i64, i64)> = Vec::with_capacity(rows.len());
    for r in rows {
        hits.push((
            r.try_get("", "id")?,
            r.try_get("", "number")?,
            r.try_get("", "score")?,
        ));
    }
    let ids: Vec<String> = hits.iter().map(|h| h.0.clone()).collect();
    let mut found: std::collections::HashMap<String, Ticket> = of_org::<tickets::Entity>(org)
        .filter(tickets::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|r| ticket_from_row(r).map(|t| (t.id.to_string(), t)))
        .collect::<Result<_, _>>()?;
    let scored: Vec<(Ticket, i64)> = hits
        .into_iter()
        .filter_map(|(id, _, score)| found.remove(&id).map(|t| (t, score)))
        .collect();
    let paged = page
        .finish(scored, |(t, score)| {
            vec![(*score).into(), t.number.into(), t.id.as_str().into()]
        })
        .map(|(t, _)| t);
    Ok((paged, count as u64))
}

#[cfg(test)]
mod tests {
    use super::websearch_to_fts5;

    #[test]
    fn web_search_syntax_becomes_quoted_fts5_terms() {
        assert_eq!(
            websearch_to_fts5("cancelación"),
            Some("\"cancelación\"".into())
        );
        assert_eq!(
            websearch_to_fts5("factura duplicada"),
            Some("\"factura\" AND \"duplicada\"".into())
        );
        assert_eq!(
            websearch_to_fts5("\"no llega\" -spam"),
            Some("(\"no llega\") NOT \"spam\"".into())
        );
        assert_eq!(
            websearch_to_fts5("envío or entrega"),
            Some("(\"envío\" OR \"entrega\")".into())
        );
        assert_eq!(websearch_to_fts5("NEAR( * ^"), Some("\"NEAR\"".into()));
        assert_eq!(websearch_to_fts5("-solo"), None);
        assert_eq!(websearch_to_fts5("  "), None);
    }
}
