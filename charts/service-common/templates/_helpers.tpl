{{/*
The library of the learning-analytics service charts (learning-events, concept-mastery): each
of their templates/*.yaml is one include of a template below, called with the service chart's
own context, so .Chart is the service chart (its name names and labels every object) and
.Values are its values. What differs per service, the library asks the service chart for by
name, <chart>.<part> with <chart> its .Chart.Name:

  <chart>.nickname             what the rendered comments call the service ("Logger")
  <chart>.serviceEnv           the service's own environment variables
  <chart>.serviceVolumes       its own volumes, besides data, tmp and the credentials'
  <chart>.serviceVolumeMounts  their mounts
  <chart>.networkPolicyPeers   ingress peers besides the test Pod, Prometheus, allowedClients
  <chart>.networkPolicyEgress  egress rules besides DNS, the API server and extraRules

A service chart defines every one of them, empty where the service has nothing to add.
*/}}

{{/*
Names and labels (the helm create conventions).
*/}}

{{/*
The chart name, or nameOverride. Used for the app.kubernetes.io/name label.
*/}}
{{- define "service-common.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified name of every object. Truncated at 63 characters because some
Kubernetes name fields (DNS labels) are limited to that. When the release name already
contains the chart name, the release name alone is used.
*/}}
{{- define "service-common.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "service-common.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object.
*/}}
{{- define "service-common.labels" -}}
helm.sh/chart: {{ include "service-common.chart" . }}
{{ include "service-common.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/part-of: learning-analytics
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels: only name and instance, so that they never change across upgrades
(a Deployment's selector is immutable).
*/}}
{{- define "service-common.selectorLabels" -}}
app.kubernetes.io/name: {{ include "service-common.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Labels of the `helm test` Pod. Its name label differs from the workload's, so the
Service (which selects name + instance) never routes traffic to it.
*/}}
{{- define "service-common.testLabels" -}}
helm.sh/chart: {{ include "service-common.chart" . }}
app.kubernetes.io/name: {{ include "service-common.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: helm-test
app.kubernetes.io/part-of: learning-analytics
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The ServiceAccount the Pod runs as.
*/}}
{{- define "service-common.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "service-common.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The container image: repository and tag, the tag defaulting to the chart's appVersion.
*/}}
{{- define "service-common.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
The PersistentVolumeClaim holding the database: an existing one, or the chart's own.
*/}}
{{- define "service-common.claimName" -}}
{{- .Values.persistence.existingClaim | default (include "service-common.fullname" .) }}
{{- end }}

{{/*
The PersistentVolumeClaim holding the scheduled backups: an existing one, or the chart's own,
<fullname>-backups.
*/}}
{{- define "service-common.backupClaimName" -}}
{{- .Values.backup.persistence.existingClaim | default (printf "%s-backups" (include "service-common.fullname" . | trunc 55 | trimSuffix "-")) }}
{{- end }}

{{/*
Where the backup volume is mounted: BACKUP_DIR.
*/}}
{{- define "service-common.backupDir" -}}
/backups
{{- end }}

{{/*
The shutdown budget must fit in the grace period: Kubernetes runs the preStop hook, then
sends SIGTERM, and kills the container with SIGKILL once terminationGracePeriodSeconds have
passed since the start of termination. Fail the render rather than ship a budget that
lets Kubernetes kill the service halfway through its shutdown.
*/}}
{{- define "service-common.checkShutdownBudget" -}}
{{- $s := .Values.shutdown }}
{{- if ge (add $s.preStopSleepSeconds $s.appTimeoutSeconds) (int $s.terminationGracePeriodSeconds) }}
{{- fail (printf "shutdown budget: preStopSleepSeconds (%d) + appTimeoutSeconds (%d) must be less than terminationGracePeriodSeconds (%d)" (int $s.preStopSleepSeconds) (int $s.appTimeoutSeconds) (int $s.terminationGracePeriodSeconds)) }}
{{- end }}
{{- end }}

{{/*
OTEL_RESOURCE_ATTRIBUTES: where the telemetry comes from. $(POD_NAMESPACE) and $(POD_NAME)
are expanded by Kubernetes from the downward-API variables defined before it.
*/}}
{{- define "service-common.otelResourceAttributes" -}}
{{- $attributes := list "k8s.namespace.name=$(POD_NAMESPACE)" "k8s.pod.name=$(POD_NAME)" (printf "k8s.deployment.name=%s" (include "service-common.fullname" .)) (printf "k8s.container.name=%s" .Chart.Name) }}
{{- range $key, $value := .Values.otel.resourceAttributes }}
{{- $attributes = append $attributes (printf "%s=%s" $key $value) }}
{{- end }}
{{- join "," $attributes }}
{{- end }}
