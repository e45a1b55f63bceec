{{/*
The NetworkPolicy (networkPolicy.enabled): the peers and egress rules every service has, and
the service chart's own (<chart>.networkPolicyPeers, <chart>.networkPolicyEgress).
*/}}

{{/*
Prometheus, scraping /metrics on the http port (networkPolicy.prometheus).
*/}}
{{- define "service-common.prometheusPeer" -}}
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
{{- define "service-common.egressRules" -}}
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
{{- if include "service-common.jwksFromCluster" . }}
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

{{/*
The object.
*/}}
{{- define "service-common.networkPolicy" -}}
{{- if .Values.networkPolicy.enabled }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "service-common.fullname" . }}
  labels:
    {{- include "service-common.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "service-common.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
    {{- if .Values.networkPolicy.egress.enabled }}
    - Egress
    {{- end }}
  # Only these Pods reach the {{ include (printf "%s.nickname" .Chart.Name) . }}; everything else is dropped.
  ingress:
    - ports:
        - port: http
          protocol: TCP
      from:
        {{- with include (printf "%s.networkPolicyPeers" .Chart.Name) . | trim }}
        {{- . | nindent 8 }}
        {{- end }}
        # This release's `helm test` Pod.
        - podSelector:
            matchLabels:
              app.kubernetes.io/name: {{ include "service-common.name" . }}-test
              app.kubernetes.io/instance: {{ .Release.Name }}
        {{- with include "service-common.prometheusPeer" . | trim }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with .Values.networkPolicy.allowedClients }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  {{- if .Values.networkPolicy.egress.enabled }}
  # Only these destinations; everything else is dropped.
  egress:
    {{- include "service-common.egressRules" . | trim | nindent 4 }}
    {{- with include (printf "%s.networkPolicyEgress" .Chart.Name) . | trim }}
    {{- . | nindent 4 }}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}
