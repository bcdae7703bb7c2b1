//! Tracing and OpenTelemetry: one subscriber for the process (text or JSON logs), spans exported
//! over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and W3C trace context carried in gRPC
//! metadata and in outbox events so one trace follows a message across services.

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector},
    trace::TracerProvider as _,
};
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer as _, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{LogFormat, TelemetrySettings};

/// Keeps the tracer provider alive; [`TelemetryGuard::shutdown`] flushes pending spans.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl TelemetryGuard {
    /// Flushes and stops span export (bounded: the exporter has its own timeout).
    pub fn shutdown(self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("telemetry: flushing spans failed: {err}");
        }
    }
}

/// Installs the global subscriber and propagator. Must run inside a Tokio runtime (the OTLP
/// exporter spawns on it). A second call (tests) keeps the first subscriber.
pub fn init(settings: &TelemetrySettings) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(
            std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| settings.service_name.clone()),
        )
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    let otlp_on = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").is_ok_and(|v| !v.is_empty())
        || std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_ok_and(|v| !v.is_empty());
    if otlp_on {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()?;
        builder = builder.with_batch_exporter(exporter);
    }
    // Without an exporter the provider still mints span contexts, so trace ids propagate.
    let provider = builder.build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    let otel_layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("switchboard"));

    // The log filter applies to log output only: spans keep their trace context (and propagate
    // it) at info level whatever an operator sets for logs.
    let log_filter =
        EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&settings.log_filter))?;
    let otel_layer = otel_layer.with_filter(EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(otel_layer);
    let result = match settings.log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .flatten_event(true)
                    .with_filter(log_filter),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_filter(log_filter),
            )
            .try_init(),
    };
    if result.is_err() {
        tracing::debug!("a global subscriber was already installed; keeping it");
    }
    Ok(TelemetryGuard { provider })
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Writes the current span's W3C trace context (`traceparent`) into outgoing headers/metadata.
pub fn inject_current(headers: &mut http::HeaderMap) {
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut HeaderInjector(headers))
    });
}

/// Reads a W3C trace context from incoming headers/metadata.
pub fn extract(headers: &http::HeaderMap) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
}

/// The current span's `traceparent` value, for storing with an outbox event.
pub fn current_traceparent() -> Option<String> {
    let mut headers = http::HeaderMap::new();
    inject_current(&mut headers);
    headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Makes `span` a child of the trace named by `traceparent` (an event's stored context).
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(tp) = traceparent.and_then(|v| http::HeaderValue::from_str(v).ok()) {
        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", tp);
        let _ = span.set_parent(extract(&headers));
    }
}

/// The span a gRPC server opens for each request, child of the caller's trace context.
pub fn grpc_server_span(req: &http::Request<()>) -> tracing::Span {
    let path = req.uri().path();
    let (service, method) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or((path, ""));
    let span = tracing::info_span!(
        "grpc.server",
        otel.name = %path.trim_start_matches('/'),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
    );
    let _ = span.set_parent(extract(req.headers()));
    span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_context_round_trips_through_headers() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", http::HeaderValue::from_static(tp));
        let cx = extract(&headers);
        let mut out = http::HeaderMap::new();
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut HeaderInjector(&mut out))
        });
        assert_eq!(out.get("traceparent").expect("injected"), tp);
    }
}
