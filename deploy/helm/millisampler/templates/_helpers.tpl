{{/* Chart name, overridable. */}}
{{- define "millisampler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every resource name: <release>-<chart>, or the release alone when it already holds the chart name. */}}
{{- define "millisampler.fullname" -}}
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

{{/* Labels of every resource. */}}
{{- define "millisampler.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "millisampler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: millisampler
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "agent"). */}}
{{- define "millisampler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "millisampler.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Name of the coordinator's Service, Deployment, ConfigMap and claim. */}}
{{- define "millisampler.coordinator.fullname" -}}
{{- printf "%s-coordinator" (include "millisampler.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "millisampler.agent.serviceAccountName" -}}
{{- if .Values.agent.serviceAccount.create -}}
{{- default (printf "%s-agent" (include "millisampler.fullname" .)) .Values.agent.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.agent.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "millisampler.coordinator.serviceAccountName" -}}
{{- if .Values.coordinator.serviceAccount.create -}}
{{- default (include "millisampler.coordinator.fullname" .) .Values.coordinator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.coordinator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "millisampler.agent.image" -}}
{{- printf "%s:%s" .Values.agent.image.repository (default .Chart.AppVersion .Values.agent.image.tag) -}}
{{- end -}}

{{- define "millisampler.coordinator.image" -}}
{{- printf "%s:%s" .Values.coordinator.image.repository (default .Chart.AppVersion .Values.coordinator.image.tag) -}}
{{- end -}}

{{/*
A setting's value as the .NET configuration binder reads it. Helm reads every YAML number as a float64, which
prints 1073741824 as 1.073741824e+09; whole numbers are printed as integers.
*/}}
{{- define "millisampler.scalar" -}}
{{- if kindIs "float64" . -}}
{{- if eq . (float64 (int64 .)) -}}{{ int64 . }}{{- else -}}{{ . }}{{- end -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{/* Seconds as a TimeSpan string, hh:mm:ss. */}}
{{- define "millisampler.timespan" -}}
{{- $s := int64 . -}}
{{- printf "%02d:%02d:%02d" (div $s 3600) (mod (div $s 60) 60) (mod $s 60) -}}
{{- end -}}

{{/* A rack name made fit for resource names: lower case, [a-z0-9-]. */}}
{{- define "millisampler.rackSlug" -}}
{{- regexReplaceAll "[^a-z0-9-]" (lower (toString .)) "-" | trunc 40 | trimAll "-" -}}
{{- end -}}

{{/* Coordinator address of the agents: agent.coordinatorAddress, else this release's coordinator Service. */}}
{{- define "millisampler.agent.coordinatorAddress" -}}
{{- if .Values.agent.coordinatorAddress -}}
{{- .Values.agent.coordinatorAddress -}}
{{- else if .Values.coordinator.enabled -}}
{{- printf "http://%s.%s.svc.%s:%d" (include "millisampler.coordinator.fullname" .) .Release.Namespace .Values.clusterDomain (int .Values.coordinator.grpcPort) -}}
{{- end -}}
{{- end -}}

{{/*
The agent's settings for one rack, as environment variables (the ConfigMap's data): (dict "root" $ "rack" $rack).
agent.settings, then the rack's settings, win over the typed values. Per-node settings (Agent:Host,
Agent:AdvertisedAddress) come from the downward API in the DaemonSet instead.
*/}}
{{- define "millisampler.agent.settings" -}}
{{- $root := .root -}}
{{- $rack := .rack -}}
{{- $a := $root.Values.agent -}}
{{- $listenHost := $a.listenAddress -}}
{{- if contains ":" $listenHost }}{{ $listenHost = printf "[%s]" $listenHost }}{{ end -}}
{{- $env := dict -}}
{{- $_ := set $env "Agent__Listen" (printf "http://%s:%d" $listenHost (int $a.port)) -}}
{{- $_ := set $env "Agent__Rack" (toString $rack.name) -}}
{{- /* Plaintext until the chart's TLS modes (tls.mode) land; the services refuse to start without one or the other. */ -}}
{{- $_ := set $env "Security__Insecure" "true" -}}
{{- range $i, $if := (default $a.interfaces $rack.interfaces) }}
{{- $_ := set $env (printf "Agent__Interfaces__%d" $i) $if -}}
{{- end }}
{{- $speed := hasKey $rack "linkSpeedBitsPerSecond" | ternary $rack.linkSpeedBitsPerSecond $a.linkSpeedBitsPerSecond -}}
{{- $_ := set $env "Agent__LinkSpeedBitsPerSecond" (int64 $speed) -}}
{{- $_ := set $env "Agent__CoordinatorAddress" (include "millisampler.agent.coordinatorAddress" $root) -}}
{{- $_ := set $env "Agent__AttachMode" $a.attachMode -}}
{{- $_ := set $env "Agent__ClockErrorSource" $a.clock.errorSource -}}
{{- $_ := set $env "Agent__RequireSynchronizedClock" $a.clock.requireSynchronized -}}
{{- $_ := set $env "Agent__ShutdownTimeout" (include "millisampler.timespan" $a.shutdownTimeoutSeconds) -}}
{{- $_ := set $env "Agent__Schedule__Enabled" $a.schedule.enabled -}}
{{- $_ := set $env "Agent__Schedule__Period" $a.schedule.period -}}
{{- $_ := set $env "Agent__Schedule__Jitter" $a.schedule.jitter -}}
{{- $_ := set $env "Agent__Schedule__BinWidths" $a.schedule.binWidths -}}
{{- $_ := set $env "Agent__Schedule__Bins" (int64 $a.schedule.bins) -}}
{{- $_ := set $env "Agent__RunStore__Directory" "/var/lib/millisampler/runs" -}}
{{- $_ := set $env "Agent__RunStore__RetentionDays" (int64 $a.runStore.retentionDays) -}}
{{- $_ := set $env "Agent__RunStore__MaxTotalBytes" (int64 $a.runStore.maxTotalBytes) -}}
{{- range $key, $value := $a.settings }}
{{- $_ := set $env (printf "Agent__%s" ($key | replace ":" "__")) $value -}}
{{- end }}
{{- range $key, $value := $rack.settings }}
{{- $_ := set $env (printf "Agent__%s" ($key | replace ":" "__")) $value -}}
{{- end }}
{{- range $key, $value := $env }}
{{ $key }}: {{ include "millisampler.scalar" $value | quote }}
{{- end }}
{{- end -}}

{{/* The coordinator's settings as environment variables (its ConfigMap's data); coordinator.settings win. */}}
{{- define "millisampler.coordinator.settings" -}}
{{- $c := .Values.coordinator -}}
{{- $env := dict -}}
{{- $_ := set $env "Coordinator__Endpoints__GrpcUrl" (printf "http://0.0.0.0:%d" (int $c.grpcPort)) -}}
{{- $_ := set $env "Coordinator__Endpoints__HttpUrl" (printf "http://0.0.0.0:%d" (int $c.httpPort)) -}}
{{- $_ := set $env "Security__Insecure" "true" -}}
{{- $_ := set $env "Coordinator__Membership__CoordinatorId" (default (include "millisampler.coordinator.fullname" .) $c.id) -}}
{{- $_ := set $env "Coordinator__Membership__HeartbeatInterval" $c.membership.heartbeatInterval -}}
{{- $_ := set $env "Coordinator__Membership__StaleAfterMissedHeartbeats" (int64 $c.membership.staleAfterMissedHeartbeats) -}}
{{- $_ := set $env "Coordinator__Membership__ForgetStaleHostAfter" $c.membership.forgetStaleHostAfter -}}
{{- $_ := set $env "Coordinator__Membership__RttProbeInterval" $c.membership.rttProbeInterval -}}
{{- $_ := set $env "Coordinator__Captures__LeadTimeFloor" $c.captures.leadTimeFloor -}}
{{- $_ := set $env "Coordinator__Captures__LeadTimeCeiling" $c.captures.leadTimeCeiling -}}
{{- $_ := set $env "Coordinator__Captures__MaxQueuedPerRack" (int64 $c.captures.maxQueuedPerRack) -}}
{{- $_ := set $env "Coordinator__Captures__FallbackLinkSpeedBitsPerSecond" (int64 $c.captures.fallbackLinkSpeedBitsPerSecond) -}}
{{- $_ := set $env "Coordinator__Storage__DatabasePath" "/var/lib/millisampler/coordinator/coordinator.db" -}}
{{- $_ := set $env "Coordinator__Storage__RetentionDays" (int64 $c.storage.retentionDays) -}}
{{- range $key, $value := $c.settings }}
{{- $_ := set $env (printf "Coordinator__%s" ($key | replace ":" "__")) $value -}}
{{- end }}
{{- range $key, $value := $env }}
{{ $key }}: {{ include "millisampler.scalar" $value | quote }}
{{- end }}
{{- end -}}
