{{/*
The Grafana dashboard of the service chart (its dashboards/<chart>.json), as a ConfigMap for
the Grafana sidecar.
*/}}
{{- define "service-common.dashboardConfigMap" -}}
{{- if .Values.dashboards.enabled }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "service-common.fullname" . }}-dashboard
  {{- with .Values.dashboards.namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "service-common.labels" . | nindent 4 }}
    {{- toYaml .Values.dashboards.labels | nindent 4 }}
  {{- with .Values.dashboards.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
data:
  # The Grafana dashboard of this chart's dashboards/ directory, loaded by the
  # kube-prometheus-stack Grafana sidecar.
  {{ .Chart.Name }}.json: |-
    {{- .Files.Get (printf "dashboards/%s.json" .Chart.Name) | required "the chart's dashboard JSON is missing" | nindent 4 }}
{{- end }}
{{- end }}
