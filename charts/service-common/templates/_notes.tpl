{{/*
NOTES.txt: where the service answers, in the cluster, through the Ingress and from the user's
machine, and how a caller gets a credential. Each service chart's NOTES.txt adds its own calls.
*/}}
{{- define "service-common.notes.endpoints" -}}
In the cluster it answers at:
  http://{{ include "service-common.fullname" . }}.{{ .Release.Namespace }}.svc:{{ .Values.service.port }}
{{- if .Values.ingress.enabled }}

Through the Ingress:
{{- range $host := .Values.ingress.hosts }}
{{- range .paths }}
  http{{ if $.Values.ingress.tls }}s{{ end }}://{{ $host.host }}{{ .path }}
{{- end }}
{{- end }}
{{- end }}

From your machine:
  kubectl --namespace {{ .Release.Namespace }} port-forward service/{{ include "service-common.fullname" . }} {{ .Values.service.port }}:{{ .Values.service.port }}
  curl http://127.0.0.1:{{ .Values.service.port }}/ready
{{- with include "service-common.authNotes" . }}
{{ . }}
{{- end }}
{{- end }}
