{{/*
The service's own settings, as the environment variables it validates at boot (service-common's
deployment adds them to those every service reads). An empty value is left out, so the service
applies its documented default.
*/}}
{{- define "learning-events.serviceEnv" -}}
{{- with .Values.config.eventTypes }}
- name: EVENT_TYPES
  value: {{ join "," . | quote }}
{{- end }}
{{- with .Values.config.bodyLimitBytes }}
- name: BODY_LIMIT_BYTES
  value: {{ . | int64 | quote }}
{{- end }}
{{- with .Values.config.batchBodyLimitBytes }}
- name: BATCH_BODY_LIMIT_BYTES
  value: {{ . | int64 | quote }}
{{- end }}
{{- end }}

{{/*
The service's own volumes and their mounts, besides /data, /tmp and the credentials of
service-common's _auth.tpl: none for the Logger.
*/}}
{{- define "learning-events.serviceVolumes" -}}
{{- end }}

{{- define "learning-events.serviceVolumeMounts" -}}
{{- end }}
