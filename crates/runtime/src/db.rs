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
