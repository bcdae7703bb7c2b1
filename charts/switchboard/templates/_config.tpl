{{/*
config.toml for every process: values from .Values.config, the Service names as endpoints
(distributed mode), migrate_on_start=false (the hook Job migrates) and an empty hs256_secret
(the built-in development secret is refused with PostgreSQL/Redis; a referenced Secret sets it
through SWITCHBOARD__GATEWAY__AUTH__HS256_SECRET).
*/}}
{{- define "switchboard.configToml" -}}
{{- $c := .Values.config -}}
{{- $fullname := include "switchboard.fullname" . -}}
{{- $ports := include "switchboard.ports" . | fromJson -}}
# Rendered by the Helm chart from its values; environment variables (secrets) override it.
[database]
migrate_on_start = false
max_connections = {{ int $c.database.maxConnections }}
connect_timeout_secs = {{ int $c.database.connectTimeoutSecs }}
vacuum_interval_secs = {{ int $c.database.vacuumIntervalSecs }}

[redis]
key_prefix = {{ $c.redis.keyPrefix | toJson }}

[telemetry]
log_format = {{ $c.telemetry.logFormat | toJson }}
log_filter = {{ $c.telemetry.logFilter | toJson }}
service_name = {{ $c.telemetry.serviceName | toJson }}

[server]
host = "0.0.0.0"
shutdown_grace_secs = {{ int $c.server.shutdownGraceSecs }}
metrics_port = 9464

[gateway.auth]
issuer = {{ $c.gateway.auth.issuer | toJson }}
audience = {{ $c.gateway.auth.audience | toJson }}
jwks_url = {{ $c.gateway.auth.jwksUrl | toJson }}
hs256_secret = ""
leeway_secs = {{ int $c.gateway.auth.leewaySecs }}

[gateway.cors]
allowed_origins = {{ $c.gateway.cors.allowedOrigins | default list | toJson }}

[gateway.limits]
requests_per_second = {{ int $c.gateway.limits.requestsPerSecond }}
burst = {{ int $c.gateway.limits.burst }}
max_streams_per_agent = {{ int $c.gateway.limits.maxStreamsPerAgent }}

[channel]
conversation_consumers = {{ int $c.channel.conversationConsumers }}

[channel.whatsapp]
graph_base_url = {{ $c.channel.whatsapp.graphBaseUrl | toJson }}
api_version = {{ $c.channel.whatsapp.apiVersion | toJson }}
secrets_dir = {{ ternary .Values.whatsapp.accessTokens.mountPath "" (ne .Values.whatsapp.accessTokens.existingSecret "") | toJson }}

[routing]
conversation_ttl_secs = {{ int $c.routing.conversationTtlSecs }}

[presence]
heartbeat_ttl_secs = {{ int $c.presence.heartbeatTtlSecs }}

[outbox]
dead_letter_after_attempts = {{ int $c.outbox.deadLetterAfterAttempts }}

[endpoints]
{{- range $name := list "gateway" "channel" "routing" "presence" "ticketing" "integrations" }}
{{- if eq $.Values.deploymentMode "single" }}
{{ $name }} = ""
{{- else }}
{{ $name }} = {{ printf "http://%s-%s:%d" $fullname $name (int (get $ports $name)) | toJson }}
{{- end }}
{{- end }}
{{- end -}}
