{{/* The chart's name. */}}
{{- define "switchboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: the prefix of every object (Service names: <fullname>-<service>). */}}
{{- define "switchboard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchboard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "switchboard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: switchboard
{{- end -}}

{{- define "switchboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "switchboard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "switchboard.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The services, in the order their objects render; the one list every template ranges over. */}}
{{- define "switchboard.serviceNames" -}}
["gateway", "channel", "routing", "presence", "ticketing", "reporting", "integrations"]
{{- end -}}

{{/* The services' fixed ports (defaults.toml). */}}
{{- define "switchboard.ports" -}}
{"gateway": 50051, "channel": 50052, "routing": 50053, "presence": 50054, "ticketing": 50055, "reporting": 50056, "integrations": 50057}
{{- end -}}

{{/*
The Deployments to render, as JSON: name -> {target, grpcPort, webhook, values}.
distributed: one per service; single: one named "all" serving every port (health on the gateway's).
*/}}
{{- define "switchboard.components" -}}
{{- $ports := include "switchboard.ports" . | fromJson -}}
{{- $out := dict -}}
{{- if eq .Values.deploymentMode "single" -}}
{{- $_ := set $out "all" (dict "target" "all" "grpcPort" 50051 "webhook" true "values" .Values.single) -}}
{{- else -}}
{{- range $name := (include "switchboard.serviceNames" $ | fromJsonArray) -}}
{{- $_ := set $out $name (dict "target" $name "grpcPort" (get $ports $name) "webhook" (eq $name "channel") "values" (get $.Values.services $name)) -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The component (Deployment) that serves a given service. */}}
{{- define "switchboard.componentOf" -}}
{{- if eq .root.Values.deploymentMode "single" -}}all{{- else -}}{{ .service }}{{- end -}}
{{- end -}}

{{- define "switchboard.checkValues" -}}
{{- if le (int .Values.terminationGracePeriodSeconds) (int .Values.config.server.shutdownGraceSecs) -}}
{{- fail "terminationGracePeriodSeconds must be larger than config.server.shutdownGraceSecs" -}}
{{- end -}}
{{- if and (not .Values.externalRedis.enabled) (eq .Values.deploymentMode "distributed") -}}
{{- fail "deploymentMode distributed needs Redis (externalRedis.enabled): the services share its event bus and presence" -}}
{{- end -}}
{{- if and (not .Values.externalRedis.enabled) (or (gt (int .Values.single.replicas) 1) .Values.single.autoscaling.enabled) -}}
{{- fail "more than one replica needs Redis (externalRedis.enabled): without it the event bus and presence live in one process" -}}
{{- end -}}
{{- end -}}

{{/* The environment every container gets: secrets by reference, telemetry. */}}
{{- define "switchboard.env" -}}
{{- $root := .root -}}
- name: SWITCHBOARD__DATABASE__URL
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.externalDatabase.existingSecret }}
      key: {{ $root.Values.externalDatabase.urlKey }}
{{- if $root.Values.externalRedis.enabled }}
- name: SWITCHBOARD__REDIS__URL
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.externalRedis.existingSecret }}
      key: {{ $root.Values.externalRedis.urlKey }}
{{- end }}
{{- if and .gateway $root.Values.auth.existingSecret }}
- name: SWITCHBOARD__GATEWAY__AUTH__HS256_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.auth.existingSecret }}
      key: {{ $root.Values.auth.hs256SecretKey }}
      # Used when it exists: without it the gateway verifies tokens with issuer/jwksUrl only.
      optional: true
{{- end }}
{{- if and .channel $root.Values.whatsapp.existingSecret }}
- name: SWITCHBOARD__CHANNEL__WHATSAPP__APP_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.whatsapp.existingSecret }}
      key: {{ $root.Values.whatsapp.appSecretKey }}
- name: SWITCHBOARD__CHANNEL__WHATSAPP__VERIFY_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.whatsapp.existingSecret }}
      key: {{ $root.Values.whatsapp.verifyTokenKey }}
{{- end }}
{{- if $root.Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $root.Values.otel.endpoint | quote }}
{{- end }}
{{- with $root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
