{{/*
The optional HorizontalPodAutoscaler (autoscaling.enabled, PostgreSQL only: _database.tpl refuses
it on SQLite): between autoscaling.minReplicas and maxReplicas Pods, for an average CPU use of
targetCPUUtilizationPercentage of the container's CPU request. The Deployment then sets no
`replicas`, so that an upgrade does not reset what the autoscaler chose.
*/}}
{{- define "service-common.horizontalPodAutoscaler" -}}
{{- $autoscaling := .Values.autoscaling }}
{{- if $autoscaling.enabled }}
{{- include "service-common.checkAutoscaling" . }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "service-common.fullname" . }}
  labels:
    {{- include "service-common.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "service-common.fullname" . }}
  minReplicas: {{ $autoscaling.minReplicas | int }}
  maxReplicas: {{ $autoscaling.maxReplicas | int }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          # A share of resources.requests.cpu ({{ .Values.resources.requests.cpu }}), averaged over the Pods.
          type: Utilization
          averageUtilization: {{ $autoscaling.targetCPUUtilizationPercentage | int }}
{{- end }}
{{- end }}

{{/*
The autoscaler needs a range to move in, and a CPU request to measure utilization against
(without one it reports no utilization and never scales).
*/}}
{{- define "service-common.checkAutoscaling" -}}
{{- $autoscaling := .Values.autoscaling }}
{{- if gt (int $autoscaling.minReplicas) (int $autoscaling.maxReplicas) }}
{{- fail (printf "autoscaling.minReplicas (%d) is above autoscaling.maxReplicas (%d)" (int $autoscaling.minReplicas) (int $autoscaling.maxReplicas)) }}
{{- end }}
{{- if not (dig "requests" "cpu" "" (.Values.resources | default dict)) }}
{{- fail "autoscaling.enabled scales on CPU utilization, a share of the container's CPU request, but resources.requests.cpu is not set: set it (e.g. 100m)" }}
{{- end }}
{{- end }}
