//! Benchmark: ticket search latency through ticketing's gRPC API (`ListTickets` with a query:
//! full-text, accent-insensitive, ranked, scoped to the organization, with total_size) over a
//! corpus of tickets whose comments are conversation-transcript sized, next to a raw indexed
//! full-text query (a GIN-indexed `tsvector`, `websearch_to_tsquery`, `ts_rank_cd`, LIMIT 20) on
//! the same texts, in the same PostgreSQL database, in the same run. Prints a table and
//! `ratio …` lines. Run with `make bench-search` (PostgreSQL + Redis, as for tests).
//!
//! Environment: BENCH_TICKETS (default 100000), BENCH_QUERIES (default 400),
//! BENCH_CONCURRENCY (seeding tasks, default 16).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use switchboard_proto::{
    common::v1::PageRequest,
    routing::v1::{self as pb, routing_service_client::RoutingServiceClient},
    ticketing::v1::{self as tk, ticketing_service_client::TicketingServiceClient},
};
use switchboard_runtime::{Service, db};
use switchboard_testkit::{Backend, TestEnv};

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Words of a Spanish/Portuguese help desk, a third of them accented.
const WORDS: &[&str] = &[
    "pedido",
    "envío",
    "factura",
    "devolución",
    "reembolso",
    "cancelación",
    "tarjeta",
    "pago",
    "cobro",
    "duplicado",
    "dirección",
    "entrega",
    "retraso",
    "paquete",
    "producto",
    "garantía",
    "cambio",
    "talla",
    "color",
    "stock",
    "cuenta",
    "contraseña",
    "acceso",
    "sesión",
    "correo",
    "teléfono",
    "número",
    "cliente",
    "agente",
    "atención",
    "reclamo",
    "queja",
    "problema",
    "solución",
    "urgente",
    "mañana",
    "semana",
    "sucursal",
    "tienda",
    "compra",
    "descuento",
    "cupón",
    "promoción",
    "suscripción",
    "renovación",
    "plan",
    "tarifa",
    "mensual",
    "anual",
    "transferencia",
    "depósito",
    "saldo",
    "crédito",
    "débito",
    "cuota",
    "interés",
    "préstamo",
    "seguro",
    "póliza",
    "siniestro",
    "cobertura",
    "vehículo",
    "hogar",
    "viaje",
    "reserva",
    "vuelo",
    "equipaje",
    "hotel",
    "habitación",
    "check",
    "pedido",
    "não",
    "chamado",
    "reclamação",
    "atendimento",
    "cobrança",
    "boleto",
    "entrega",
    "endereço",
    "cartão",
    "pagamento",
    "troca",
    "devolução",
    "nota",
    "fiscal",
    "prazo",
    "frete",
    "conexão",
    "internet",
    "sinal",
    "fibra",
    "instalação",
    "técnico",
    "visita",
    "horário",
    "manutenção",
    "modem",
    "roteador",
    "lento",
    "caído",
    "intermitente",
    "configuración",
    "aplicación",
    "actualización",
    "error",
    "pantalla",
    "botón",
    "notificación",
    "mensaje",
    "whatsapp",
    "respuesta",
    "demora",
    "espera",
    "fila",
];

/// A word without its accents, as a customer types it.
fn plain(word: &str) -> String {
    word.chars()
        .map(|c| match c {
            'á' | 'à' | 'ã' | 'â' => 'a',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ó' | 'õ' | 'ô' => 'o',
            'ú' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            other => other,
        })
        .collect()
}

fn words(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| *WORDS.choose(rng).expect("words"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A conversation transcript's worth of text: 12 lines, customer and agent in turn.
fn transcript(rng: &mut StdRng) -> String {
    (0..12)
        .map(|i| {
            let who = if i % 2 == 0 { "Cliente" } else { "Agente" };
            format!("{who}: {}", words(rng, 10))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct Doc {
    subject: String,
    description: String,
    transcript: String,
}

fn corpus(n: u64) -> Vec<Doc> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..n)
        .map(|_| Doc {
            subject: words(&mut rng, 5),
            description: words(&mut rng, 30),
            transcript: transcript(&mut rng),
        })
        .collect()
}

/// Queries as agents type them: one or two words, half written without accents.
fn queries(n: u64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(11);
    (0..n)
        .map(|i| {
            let a = *WORDS.choose(&mut rng).expect("words");
            let a = if i % 2 == 0 { plain(a) } else { a.to_string() };
            if rng.random_bool(0.5) {
                format!("{a} {}", plain(WORDS.choose(&mut rng).expect("words")))
            } else {
                a
            }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The raw ceiling: the same texts in a GIN-indexed tsvector table of the same database.
async fn raw_table(conn: &DatabaseConnection, docs: &[Doc], org: &str) -> anyhow::Result<()> {
    let backend = conn.get_database_backend();
    conn.execute_unprepared(
        "CREATE TABLE IF NOT EXISTS bench_raw_search (id BIGSERIAL PRIMARY KEY, \
         organization_id TEXT NOT NULL, doc TSVECTOR NOT NULL)",
    )
    .await?;
    for chunk in docs.chunks(500) {
        let mut sql = String::from("INSERT INTO bench_raw_search (organization_id, doc) VALUES ");
        let mut values = Vec::new();
        for (i, d) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            let n = values.len();
            sql.push_str(&format!("(${}, to_tsvector('simple', ${}))", n + 1, n + 2));
            values.push(org.into());
            values.push(plain(&format!("{} {} {}", d.subject, d.description, d.transcript)).into());
        }
        conn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    conn.execute_unprepared(
        "CREATE INDEX IF NOT EXISTS bench_raw_search_doc ON bench_raw_search USING GIN (doc)",
    )
    .await?;
    conn.execute_unprepared("ANALYZE bench_raw_search").await?;
    Ok(())
}

async fn raw_query(conn: &DatabaseConnection, org: &str, q: &str) -> anyhow::Result<usize> {
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT id, ts_rank_cd(doc, q) AS r FROM bench_raw_search, \
             websearch_to_tsquery('simple', $1) q \
             WHERE organization_id = $2 AND doc @@ q ORDER BY r DESC, id LIMIT 20",
            [plain(q).into(), org.into()],
        ))
        .await?;
    Ok(rows.len())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = env_num("BENCH_TICKETS", 100_000);
    let nq = env_num("BENCH_QUERIES", 400);
    let concurrency = env_num("BENCH_CONCURRENCY", 16);
    let env = TestEnv::new(Backend::Cluster).await?;
    let suite = env.start(&[Service::Routing, Service::Ticketing]).await?;
    let mut routing = RoutingServiceClient::new(suite.channel(Service::Routing).await?);
    let ticketing = TicketingServiceClient::new(suite.channel(Service::Ticketing).await?);
    let rid = || uuid::Uuid::now_v7().simple().to_string();
    let org = routing
        .create_organization(pb::CreateOrganizationRequest {
            request_id: rid(),
            name: "Bench".into(),
            default_agent_capacity: 3,
            ..Default::default()
        })
        .await?
        .into_inner()
        .organization
        .expect("organization")
        .id;
    let agent = routing
        .create_agent(pb::CreateAgentRequest {
            request_id: rid(),
            organization_id: org.clone(),
            agent: Some(pb::Agent {
                display_name: "Ana".into(),
                email: "ana@bench.test".into(),
                role: switchboard_proto::common::v1::Role::Admin as i32,
                capacity: 3,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?
        .into_inner()
        .agent
        .expect("agent")
        .id;

    // Seed: every ticket with a transcript-sized internal note (the search document holds
    // subject, description, comments and appended histories alike).
    let docs = Arc::new(corpus(n));
    let next = Arc::new(AtomicU64::new(0));
    let seeding = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (docs, next, org, agent) = (docs.clone(), next.clone(), org.clone(), agent.clone());
        let mut client = ticketing.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(d) = docs.get(i as usize) else {
                    return anyhow::Ok(());
                };
                let ticket = client
                    .create_ticket(tk::CreateTicketRequest {
                        request_id: uuid::Uuid::now_v7().simple().to_string(),
                        organization_id: org.clone(),
                        actor_agent_id: String::new(),
                        ticket: Some(tk::NewTicket {
                            subject: d.subject.clone(),
                            description: d.description.clone(),
                            requester: Some(tk::Requester {
                                name: "Cliente".into(),
                                ..Default::default()
                            }),
                            ..Default::default()
                        }),
                    })
                    .await?
                    .into_inner()
                    .ticket
                    .expect("ticket");
                client
                    .add_ticket_comment(tk::AddTicketCommentRequest {
                        request_id: uuid::Uuid::now_v7().simple().to_string(),
                        organization_id: org.clone(),
                        actor_agent_id: agent.clone(),
                        ticket_id: ticket.id,
                        body: d.transcript.clone(),
                        internal: true,
                    })
                    .await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let seed_secs = seeding.elapsed().as_secs_f64();

    let conn = db::connect(&env.settings.database, Service::Ticketing).await?;
    raw_table(&conn, &docs, &org).await?;

    let qs = queries(nq);
    // Warm both paths once, then measure one query at a time (latency, not throughput).
    let mut client = ticketing.clone();
    let list = |q: &str| tk::ListTicketsRequest {
        organization_id: org.clone(),
        page: Some(PageRequest {
            page_size: 20,
            ..Default::default()
        }),
        query: q.to_string(),
        ..Default::default()
    };
    for q in qs.iter().take(20) {
        client.list_tickets(list(q)).await?;
        raw_query(&conn, &org, q).await?;
    }
    let mut service = Vec::with_capacity(qs.len());
    let mut raw = Vec::with_capacity(qs.len());
    let mut found = 0u64;
    for q in &qs {
        let t = Instant::now();
        let page = client.list_tickets(list(q)).await?.into_inner();
        service.push(t.elapsed());
        if !page.tickets.is_empty() {
            found += 1;
        }
        let t = Instant::now();
        raw_query(&conn, &org, q).await?;
        raw.push(t.elapsed());
    }
    service.sort();
    raw.sort();
    let (s50, s99) = (percentile(&service, 0.5), percentile(&service, 0.99));
    let (r50, r99) = (percentile(&raw, 0.5), percentile(&raw, 0.99));
    println!("ticket search, PostgreSQL, {n} tickets with transcript-sized notes, {nq} queries");
    println!(
        "  seeding: {:.0} tickets/s through gRPC ({seed_secs:.1} s)",
        n as f64 / seed_secs
    );
    println!("  queries with results: {found}/{nq}");
    println!("| path | p50 ms | p99 ms |");
    println!("| --- | ---: | ---: |");
    println!(
        "| ListTickets (gRPC, ranked, total_size) | {:.1} | {:.1} |",
        ms(s50),
        ms(s99)
    );
    println!(
        "| raw GIN tsvector query, LIMIT 20 | {:.1} | {:.1} |",
        ms(r50),
        ms(r99)
    );
    println!("ratio search_p99_raw_vs_service {:.3}", ms(r99) / ms(s99));
    println!("ratio search_p50_raw_vs_service {:.3}", ms(r50) / ms(s50));
    conn.execute_unprepared("DROP TABLE IF EXISTS bench_raw_search")
        .await?;
    suite.stop().await
}
