//! Storage connections: each service gets its own SQLite file or its own PostgreSQL schema, so no
//! service can read another's tables.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait;

use crate::{Service, config::DatabaseSettings};

/// The URL `service` uses: `{service}` replaced by its name.
pub fn service_url(settings: &DatabaseSettings, service: Service) -> String {
    settings.url.replace("{service}", service.name())
}

/// Connects `service` to its own storage (creating the SQLite file's folder or the PostgreSQL
/// schema when missing).
pub async fn connect(
    settings: &DatabaseSettings,
    service: Service,
) -> Result<DatabaseConnection, DbErr> {
    let url = service_url(settings, service);
    let sqlite = url.starts_with("sqlite:");
    if sqlite {
        ensure_sqlite_dir(&url);
    }
    let mut opts = ConnectOptions::new(url);
    opts.connect_timeout(Duration::from_secs(settings.connect_timeout_secs))
        .acquire_timeout(Duration::from_secs(settings.connect_timeout_secs))
        .sqlx_logging(false);
    if sqlite {
        // One connection: SQLite allows one writer, and a second pooled connection would turn
        // lock upgrades into SQLITE_BUSY errors instead of waiting.
        opts.max_connections(1).min_connections(1);
    } else {
        opts.max_connections(settings.max_connections)
            .set_schema_search_path(service.name().to_string());
    }
    let db = Database::connect(opts).await?;
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;")
                .await?;
        }
        DbBackend::Postgres => {
            db.execute_unprepared(&format!(
                "CREATE SCHEMA IF NOT EXISTS \"{}\"",
                service.name()
            ))
            .await?;
        }
        _ => {}
    }
    Ok(db)
}

/// A raw statement written once with `?` placeholders, numbered `$1, $2…` for PostgreSQL (every
/// `?` of the text is a placeholder: keep literals holding `?` out of raw statements).
pub fn statement(backend: DbBackend, sql: &str, values: Vec<sea_orm::Value>) -> sea_orm::Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(ch);
                }
            }
            out
        }
        _ => sql.to_string(),
    };
    sea_orm::Statement::from_sql_and_values(backend, sql, values)
}

/// Applies every pending migration of `M`.
pub async fn migrate<M: MigratorTrait>(db: &DatabaseConnection) -> Result<(), DbErr> {
    M::up(db, None).await
}

/// Whether the service's storage answers (readiness).
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.ping().await.is_ok()
}

fn ensure_sqlite_dir(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return;
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
        && let Err(err) = std::fs::create_dir_all(parent)
    {
        tracing::warn!(path = %parent.display(), error = %err, "cannot create the SQLite folder");
    }
}

/// A migration giving a service's hot tables PostgreSQL storage parameters (no-op on SQLite):
/// queue-like tables whose rows are updated or deleted all day keep their dead rows in check
/// (autovacuum after ~2% churn instead of 20%, without cost throttling), and tables updated in
/// place leave room in each page for HOT updates (`fillfactor`), so a long-running suite does
/// not slow down as dead row versions pile up in the indexes its queue scans walk.
pub struct TuneHotTables {
    pub name: &'static str,
    /// `(table, storage parameters)`, e.g. `("conversations", "fillfactor = 70")`.
    pub tables: &'static [(&'static str, &'static str)],
}

/// A migration written as plain SQL both SQLite and PostgreSQL accept: `up` runs in order,
/// `down` undoes it. The one runner every service's SQL migrations share.
pub struct SqlMigration {
    pub name: &'static str,
    pub up: &'static [&'static str],
    pub down: &'static [&'static str],
}

impl sea_orm_migration::MigrationName for SqlMigration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl sea_orm_migration::MigrationTrait for SqlMigration {
    async fn up(&self, manager: &sea_orm_migration::SchemaManager) -> Result<(), sea_orm::DbErr> {
        for sql in self.up {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &sea_orm_migration::SchemaManager) -> Result<(), sea_orm::DbErr> {
        for sql in self.down {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }
}

/// Autovacuum settings for a table whose rows churn constantly.
pub const CHURN: &str = "autovacuum_vacuum_scale_factor = 0.02, \
     autovacuum_vacuum_threshold = 200, autovacuum_analyze_scale_factor = 0.02, \
     autovacuum_vacuum_cost_delay = 0";

impl sea_orm_migration::MigrationName for TuneHotTables {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl sea_orm_migration::MigrationTrait for TuneHotTables {
    async fn up(&self, manager: &sea_orm_migration::SchemaManager) -> Result<(), sea_orm::DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        for (table, params) in self.tables {
            manager
                .get_connection()
                .execute_unprepared(&format!("ALTER TABLE {table} SET ({params})"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &sea_orm_migration::SchemaManager) -> Result<(), sea_orm::DbErr> {
        if manager.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        for (table, params) in self.tables {
            let names: Vec<&str> = params
                .split(',')
                .filter_map(|p| p.split('=').next())
                .map(str::trim)
                .collect();
            manager
                .get_connection()
                .execute_unprepared(&format!("ALTER TABLE {table} RESET ({})", names.join(", ")))
                .await?;
        }
        Ok(())
    }
}

/// Keeps `tables` (of the connection's schema) vacuumed on PostgreSQL until `shutdown`: every
/// `interval`, a table whose dead rows passed 1,000 + 5% of its live ones gets
/// `VACUUM (ANALYZE, SKIP_LOCKED)`. Queue tables churn (every row updated or deleted soon after
/// it is written) and their scans slow down as dead versions pile up; autovacuum handles it where
/// it is on and keeps up, this where it is not. Replicas may race: `SKIP_LOCKED` makes the loser
/// skip. Does nothing on SQLite or with a zero interval.
pub async fn keep_vacuumed(
    conn: DatabaseConnection,
    tables: &'static [&'static str],
    interval: Duration,
    metrics: crate::metrics::Metrics,
    service: Service,
    shutdown: tokio_util::sync::CancellationToken,
) {
    if conn.get_database_backend() != DbBackend::Postgres || interval.is_zero() {
        return;
    }
    let vacuums = metrics.counter_vec(
        "switchboard_db_vacuums_total",
        "VACUUMs a service ran on its hot tables (dead rows above 1,000 + 5% of live rows)",
        &["service", "table"],
    );
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let due = match dead_rows(&conn, tables).await {
            Ok(due) => due,
            Err(err) => {
                tracing::debug!(error = %err, "reading dead rows failed");
                continue;
            }
        };
        for table in due {
            if shutdown.is_cancelled() {
                return;
            }
            let started = std::time::Instant::now();
            match conn
                .execute_unprepared(&format!("VACUUM (ANALYZE, SKIP_LOCKED) {table}"))
                .await
            {
                Ok(_) => {
                    vacuums.with_label_values(&[service.name(), &table]).inc();
                    tracing::debug!(%table, took_ms = started.elapsed().as_millis() as u64, "vacuumed");
                }
                Err(err) => tracing::warn!(%table, error = %err, "vacuum failed"),
            }
        }
    }
}

/// The `tables` of the current schema whose dead rows passed 1,000 + 5% of the live ones.
async fn dead_rows(conn: &DatabaseConnection, tables: &[&str]) -> Result<Vec<String>, DbErr> {
    let rows = conn
        .query_all_raw(sea_orm::Statement::from_string(
            DbBackend::Postgres,
            "SELECT relname::text AS t, n_dead_tup AS dead, n_live_tup AS live \
             FROM pg_stat_user_tables WHERE schemaname = current_schema()",
        ))
        .await?;
    let mut due = Vec::new();
    for row in rows {
        let table: String = row.try_get("", "t")?;
        let dead: i64 = row.try_get("", "dead")?;
        let live: i64 = row.try_get("", "live")?;
        if tables.contains(&table.as_str()) && dead > 1_000 + live / 20 {
            due.push(table);
        }
    }
    Ok(due)
}
