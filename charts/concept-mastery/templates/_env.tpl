{{/*
The service's own settings, as the environment variables it validates at boot.
An empty value is left out, so the service applies its documented default.
*/}}
{{- define "concept-mastery.serviceEnv" -}}
- name: LEARNING_EVENTS_URL
  value: {{ include "concept-mastery.learningEventsUrl" . | quote }}
{{- if not (kindIs "invalid" .Values.config.passScore) }}
- name: PASS_SCORE
  value: {{ .Values.config.passScore | toString | quote }}
{{- end }}
{{- end }}

{{/*
Where the Logger answers. learningEvents.url when set; otherwise the Logger installed by
this same release (the umbrella chart): its Service is named the way the learning-events
chart names it, <release>-learning-events, or the release name when that already contains
"learning-events".
*/}}
{{- define "concept-mastery.learningEventsUrl" -}}
{{- if .Values.learningEvents.url }}
{{- .Values.learningEvents.url }}
{{- else }}
{{- $service := printf "%s-learning-events" .Release.Name }}
{{- if contains "learning-events" .Release.Name }}
{{- $service = .Release.Name }}
{{- end }}
{{- printf "http://%s:%d" ($service | trunc 63 | trimSuffix "-") (int .Values.learningEvents.servicePort) }}
{{- end }}
{{- end }}
