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
{{- printf "%s://%s.%s.svc.%s:%d" (include "millisampler.scheme" .) (include "millisampler.coordinator.fullname" .) .Release.Namespace .Values.clusterDomain (int .Values.coordinator.grpcPort) -}}
{{- end -}}
{{- end -}}

{{/* "true" when the services run with TLS (tls.mode certManager or secret), "" in insecure mode. */}}
{{- define "millisampler.tls.on" -}}
{{- if ne .Values.tls.mode "insecure" }}true{{ end -}}
{{- end -}}

{{/* URL scheme of the gRPC ports and of the coordinator's HTTP port. */}}
{{- define "millisampler.scheme" -}}
{{- if include "millisampler.tls.on" . }}https{{ else }}http{{ end -}}
{{- end -}}

{{/* Where the certificate files are mounted in both containers. */}}
{{- define "millisampler.tls.dir" -}}/etc/millisampler/tls{{- end -}}

{{/* The Security: settings of both services, into the dict .env: (dict "root" $ "env" $env). */}}
{{- define "millisampler.tls.settings" -}}
{{- $env := .env -}}
{{- if include "millisampler.tls.on" .root -}}
{{- $dir := include "millisampler.tls.dir" .root -}}
{{- $_ := set $env "Security__CertificatePath" (printf "%s/tls.crt" $dir) -}}
{{- $_ := set $env "Security__KeyPath" (printf "%s/tls.key" $dir) -}}
{{- $_ := set $env "Security__CaPath" (printf "%s/ca.crt" $dir) -}}
{{- $_ := set $env "Security__ReloadCheckInterval" .root.Values.tls.reloadCheckInterval -}}
{{- else -}}
{{- /* The one explicit plaintext switch: the services log it at Warning. */ -}}
{{- $_ := set $env "Security__Insecure" "true" -}}
{{- end -}}
{{- end -}}

{{/* Name of one rack's agent resources: (dict "root" $ "rack" $rack). */}}
{{- define "millisampler.agent.rackName" -}}
{{- printf "%s-agent-%s" (include "millisampler.fullname" .root) (include "millisampler.rackSlug" .rack.name) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Secret holding one rack's agent certificate: (dict "root" $ "rack" $rack). */}}
{{- define "millisampler.agent.tlsSecretName" -}}
{{- $default := printf "%s-agent-%s-tls" (include "millisampler.fullname" .root) (include "millisampler.rackSlug" .rack.name) | trunc 63 | trimSuffix "-" -}}
{{- if eq .root.Values.tls.mode "secret" -}}
{{- .rack.tlsSecretName | default .root.Values.tls.agent.secretName | default $default -}}
{{- else -}}
{{- $default -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the coordinator's certificate. */}}
{{- define "millisampler.coordinator.tlsSecretName" -}}
{{- $default := printf "%s-tls" (include "millisampler.coordinator.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- if eq .Values.tls.mode "secret" -}}
{{- .Values.tls.coordinator.secretName | default $default -}}
{{- else -}}
{{- $default -}}
{{- end -}}
{{- end -}}

{{/*
The node names of one rack, for its certificate's SAN DNS names: agent.racks[].nodes, else the nodes carrying the rack
label in the cluster at install/upgrade (lookup; empty under `helm template`). (dict "root" $ "rack" $rack)
*/}}
{{- define "millisampler.agent.rackNodes" -}}
{{- $names := list -}}
{{- if .rack.nodes -}}
{{- $names = .rack.nodes -}}
{{- else if .root.Values.agent.rackLabel -}}
{{- $nodes := lookup "v1" "Node" "" "" -}}
{{- range $node := (get $nodes "items" | default list) -}}
{{- if eq (toString (get (default (dict) $node.metadata.labels) $.root.Values.agent.rackLabel)) (toString $.rack.name) -}}
{{- $names = append $names $node.metadata.name -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $names -}}
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
{{- $env := dict -}}
{{- /* With an explicit listen address the ports are set here; without, the DaemonSet sets them to the node IP. */ -}}
{{- if $a.listenAddress -}}
{{- $listenHost := $a.listenAddress -}}
{{- if contains ":" $listenHost }}{{ $listenHost = printf "[%s]" $listenHost }}{{ end -}}
{{- $_ := set $env "Agent__Listen" (printf "%s://%s:%d" (include "millisampler.scheme" $root) $listenHost (int $a.port)) -}}
{{- $_ := set $env "Agent__MetricsListen" (printf "http://%s:%d" $listenHost (int $a.metricsPort)) -}}
{{- end -}}
{{- $_ := set $env "Agent__Rack" (toString $rack.name) -}}
{{- include "millisampler.tls.settings" (dict "root" $root "env" $env) -}}
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
{{- /* Every address of the pod's own network namespace: its pod IP and loopback. */ -}}
{{- $_ := set $env "Coordinator__Endpoints__GrpcUrl" (printf "%s://0.0.0.0:%d" (include "millisampler.scheme" .) (int $c.grpcPort)) -}}
{{- $_ := set $env "Coordinator__Endpoints__HttpUrl" (printf "%s://0.0.0.0:%d" (include "millisampler.scheme" .) (int $c.httpPort)) -}}
{{- include "millisampler.tls.settings" (dict "root" . "env" $env) -}}
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
