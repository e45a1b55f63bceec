{{/*
The parts of the NetworkPolicy both services share (networkpolicy.yaml adds each service's own
peers): Prometheus among the admitted clients, and the egress rules.
*/}}

{{/*
Prometheus, scraping /metrics on the http port (networkPolicy.prometheus).
*/}}
{{- define "concept-mastery.prometheusPeer" -}}
{{- with .Values.networkPolicy.prometheus }}
{{- if .enabled }}
# Prometheus, scraping /metrics.
- podSelector:
    {{- toYaml .podSelector | nindent 4 }}
  {{- if kindIs "map" .namespaceSelector }}
  namespaceSelector: {{- if .namespaceSelector }}{{ toYaml .namespaceSelector | nindent 4 }}{{ else }} {}{{ end }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The egress rules every service needs: DNS, the API server while the JWKS comes from it (by
address: a policy sees the endpoints behind the kubernetes Service, not its ClusterIP), and
networkPolicy.egress.extraRules.
*/}}
{{- define "concept-mastery.egressRules" -}}
{{- $egress := .Values.networkPolicy.egress }}
{{- with $egress.dnsPeers }}
# DNS.
- to:
    {{- toYaml . | nindent 4 }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}
{{- if include "concept-mastery.jwksFromCluster" . }}
# The API server, for the JWKS.
- to:
    {{- range $egress.apiServerCidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    {{- range $egress.apiServerPorts }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
{{- end }}
{{- with $egress.extraRules }}
{{ toYaml . }}
{{- end }}
{{- end }}
