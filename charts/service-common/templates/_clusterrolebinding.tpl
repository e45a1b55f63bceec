{{/*
The ClusterRoleBinding to system:service-account-issuer-discovery, which lets the Pod read
the API server's JWKS (auth.jwt.rbac.create).
*/}}
{{- define "service-common.clusterRoleBinding" -}}
{{- if and (include "service-common.jwtEnabled" .) .Values.auth.jwt.rbac.create }}
# Lets the Pod's ServiceAccount read the API server's JWKS (/openid/v1/jwks) and discovery
# document, which the service needs to check the cluster's ServiceAccount tokens. The ClusterRole
# is cluster-scoped, so only a ClusterRoleBinding grants it; its name carries the namespace, so
# releases of one name in two namespaces do not collide.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ include "service-common.fullname" . }}-{{ .Release.Namespace }}-issuer-discovery
  labels:
    {{- include "service-common.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:service-account-issuer-discovery
subjects:
  - kind: ServiceAccount
    name: {{ include "service-common.serviceAccountName" . }}
    namespace: {{ .Release.Namespace }}
{{- end }}
{{- end }}
