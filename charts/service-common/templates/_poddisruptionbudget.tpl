{{/*
The PodDisruptionBudget of the Pods on PostgreSQL (podDisruptionBudget.enabled): how many of them
a voluntary disruption (a node drain, a cluster upgrade) may take at once. SQLite's single Pod
gets none: a budget could only let its one Pod go, or block every drain of its node.

The default is maxUnavailable 1 rather than minAvailable 1: with two replicas or more, a drain
evicts one Pod, waits until its replacement is ready elsewhere, then takes the next, so the
service keeps answering; with one replica (replicaCount 1 on PostgreSQL), the drain may still
evict it, where minAvailable 1 would block the drain until someone intervened.
*/}}
{{- define "service-common.podDisruptionBudget" -}}
{{- $budget := .Values.podDisruptionBudget }}
{{- if and $budget.enabled (include "service-common.postgres" .) }}
{{- include "service-common.checkPodDisruptionBudget" . }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "service-common.fullname" . }}
  labels:
    {{- include "service-common.labels" . | nindent 4 }}
spec:
  {{- if kindIs "invalid" $budget.minAvailable }}
  maxUnavailable: {{ $budget.maxUnavailable | toJson }}
  {{- else }}
  minAvailable: {{ $budget.minAvailable | toJson }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "service-common.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{/*
The fewest Pods the Deployment runs: autoscaling.minReplicas under the HorizontalPodAutoscaler,
replicaCount otherwise.
*/}}
{{- define "service-common.fewestReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.minReplicas | int }}{{ else }}{{ .Values.replicaCount | int }}{{ end }}
{{- end }}

{{/*
A minAvailable not below the fewest replicas lets no Pod be evicted: every drain of their nodes
would wait forever. A percentage counts as Kubernetes counts it, rounded up (50% of one Pod is
one Pod).
*/}}
{{- define "service-common.checkPodDisruptionBudget" -}}
{{- $minAvailable := .Values.podDisruptionBudget.minAvailable }}
{{- if not (kindIs "invalid" $minAvailable) }}
{{- $fewest := include "service-common.fewestReplicas" . | int }}
{{- $source := ternary "autoscaling.minReplicas" "replicaCount" (.Values.autoscaling.enabled | default false) }}
{{- $blocks := false }}
{{- if kindIs "string" $minAvailable }}
{{- $percent := trimSuffix "%" $minAvailable | int }}
{{- $blocks = gt (mul $percent $fewest) (mul 100 (sub $fewest 1)) }}
{{- else }}
{{- $blocks = ge (int $minAvailable) $fewest }}
{{- end }}
{{- if $blocks }}
{{- fail (printf "podDisruptionBudget.minAvailable is %v, which leaves no Pod to evict at %s (%d), the fewest Pods the Deployment runs: every drain of their nodes would wait forever. Lower it, or leave it null for maxUnavailable (1 by default)" $minAvailable $source $fewest) }}
{{- end }}
{{- end }}
{{- end }}
