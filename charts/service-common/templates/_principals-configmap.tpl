{{/*
The principals file (auth.principals), read from AUTH_PRINCIPALS_FILE.
*/}}
{{- define "service-common.principalsConfigMap" -}}
{{- if include "service-common.principalsEnabled" . }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "service-common.fullname" . }}-principals
  labels:
    {{- include "service-common.labels" . | nindent 4 }}
data:
  # The scopes of each JWT subject (auth.principals), read from AUTH_PRINCIPALS_FILE.
  principals.json: |-
    {{- include "service-common.principalsJson" . | nindent 4 }}
{{- end }}
{{- end }}
