{{/*
Environment of a coordinator that keeps its data in an external PostgreSQL server (externalPostgres.enabled):
the provider, and the connection string from a Secret (it carries the password, so never a ConfigMap).
*/}}
{{- define "millisampler.coordinator.externalPostgresEnv" -}}
{{- $pg := .Values.externalPostgres }}
{{- if $pg.enabled }}
{{- if not $pg.existingSecret }}
{{- fail "externalPostgres.enabled needs externalPostgres.existingSecret: a Secret holding the Npgsql connection string" }}
{{- end }}
- name: Coordinator__Storage__Provider
  value: Postgres
- name: Coordinator__Storage__ConnectionString
  valueFrom:
    secretKeyRef:
      name: {{ $pg.existingSecret }}
      key: {{ $pg.secretKey }}
{{- end }}
{{- end }}
