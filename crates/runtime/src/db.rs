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
