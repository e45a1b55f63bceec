{{/*
The Brain's own parts of the NetworkPolicy (service-common.networkPolicy renders the rest).
*/}}

{{/*
Admitted besides the release's `helm test` Pod, Prometheus and networkPolicy.allowedClients:
nobody; the applications that read mastery are networkPolicy.allowedClients.
*/}}
{{- define "concept-mastery.networkPolicyPeers" -}}
{{- end }}

{{/*
Egress besides DNS, the API server and networkPolicy.egress.extraRules: the Logger.
*/}}
{{- define "concept-mastery.networkPolicyEgress" -}}
{{- if .Values.networkPolicy.egress.allowLearningEvents }}
# The Logger{{ if not .Values.learningEvents.url }} of this release{{ end }}, on its http port.
- to:
    - podSelector:
        matchLabels:
          app.kubernetes.io/name: learning-events
          {{- if not .Values.learningEvents.url }}
          app.kubernetes.io/instance: {{ .Release.Name }}
          {{- end }}
  ports:
    - port: http
      protocol: TCP
{{- end }}
{{- end }}
