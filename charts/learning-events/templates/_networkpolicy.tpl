{{/*
The Logger's own parts of the NetworkPolicy (service-common.networkPolicy renders the rest).
*/}}

{{/*
Admitted besides the release's `helm test` Pod, Prometheus and networkPolicy.allowedClients:
the Brain.
*/}}
{{- define "learning-events.networkPolicyPeers" -}}
{{- if .Values.networkPolicy.allowConceptMastery }}
# The Brain (concept-mastery) in this namespace{{ if .Values.networkPolicy.conceptMasterySameRelease }}, of this release{{ end }}.
- podSelector:
    matchLabels:
      app.kubernetes.io/name: concept-mastery
      {{- if .Values.networkPolicy.conceptMasterySameRelease }}
      app.kubernetes.io/instance: {{ .Release.Name }}
      {{- end }}
{{- end }}
{{- end }}

{{/*
Egress besides DNS, the API server and networkPolicy.egress.extraRules: none for the Logger.
*/}}
{{- define "learning-events.networkPolicyEgress" -}}
{{- end }}
