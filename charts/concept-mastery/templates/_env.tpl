{{/*
The service's own settings, as the environment variables it validates at boot (service-common's
deployment adds them to those every service reads). An empty value is left out, so the service
applies its documented default.
*/}}
{{- define "concept-mastery.serviceEnv" -}}
- name: LEARNING_EVENTS_URL
  value: {{ include "concept-mastery.learningEventsUrl" . | quote }}
{{- $loggerAuth := .Values.learningEvents.auth }}
{{- if eq $loggerAuth.mode "serviceAccountToken" }}
- name: LEARNING_EVENTS_TOKEN_FILE
  value: "{{ include "concept-mastery.learningEventsTokenDir" . }}/token"
{{- else if eq $loggerAuth.mode "apiKey" }}
- name: LEARNING_EVENTS_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $loggerAuth.apiKey.existingSecret | required "learningEvents.auth.mode is apiKey: set learningEvents.auth.apiKey.existingSecret to the Secret holding the key" }}
      key: {{ $loggerAuth.apiKey.key }}
{{- end }}
{{- if not (kindIs "invalid" .Values.config.passScore) }}
- name: PASS_SCORE
  value: {{ .Values.config.passScore | toString | quote }}
{{- end }}
{{- if not (kindIs "invalid" .Values.feed.consumerEnabled) }}
- name: FEED_CONSUMER_ENABLED
  value: {{ .Values.feed.consumerEnabled | toString | quote }}
{{- end }}
{{- /* Whole numbers: YAML numbers are floats in templates, so print them as integers. */}}
{{- $integers := list
  (list "LEARNING_EVENTS_TIMEOUT_MS" .Values.learningEvents.timeoutMs)
  (list "LEARNING_EVENTS_DEADLINE_MS" .Values.learningEvents.deadlineMs)
  (list "LEARNING_EVENTS_RETRIES" .Values.learningEvents.retries)
  (list "LEARNING_EVENTS_RETRY_BASE_MS" .Values.learningEvents.retryBaseMs)
  (list "LEARNING_EVENTS_RETRY_MAX_MS" .Values.learningEvents.retryMaxMs)
  (list "LEARNING_EVENTS_PAGE_SIZE" .Values.learningEvents.pageSize)
  (list "FEED_WAIT_MS" .Values.feed.waitMs)
  (list "FEED_PAGE_SIZE" .Values.feed.pageSize)
  (list "FEED_BACKOFF_MAX_MS" .Values.feed.backoffMaxMs) }}
{{- range $integers }}
{{- if not (kindIs "invalid" (index . 1)) }}
- name: {{ index . 0 }}
  value: {{ index . 1 | int64 | quote }}
{{- end }}
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

{{/*
Where the Brain's token for the Logger is mounted.
*/}}
{{- define "concept-mastery.learningEventsTokenDir" -}}
/var/run/secrets/learning-events
{{- end }}

{{/*
The service's own volumes and their mounts, besides /data, /tmp and the credentials of
service-common's _auth.tpl: the token the Brain shows the Logger. A ServiceAccount token
projected for the Logger's audience, so that it is good for the Logger only (not for the API
server); the kubelet renews it before it expires and the Brain re-reads the file.
*/}}
{{- define "concept-mastery.serviceVolumes" -}}
{{- if eq .Values.learningEvents.auth.mode "serviceAccountToken" }}
- name: learning-events-token
  projected:
    sources:
      - serviceAccountToken:
          audience: {{ .Values.learningEvents.auth.tokenAudience }}
          expirationSeconds: {{ .Values.learningEvents.auth.tokenExpirationSeconds | int64 }}
          path: token
{{- end }}
{{- end }}

{{- define "concept-mastery.serviceVolumeMounts" -}}
{{- if eq .Values.learningEvents.auth.mode "serviceAccountToken" }}
- name: learning-events-token
  mountPath: {{ include "concept-mastery.learningEventsTokenDir" . }}
  readOnly: true
{{- end }}
{{- end }}
