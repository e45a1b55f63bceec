{{/*
Authentication (the service's AUTH_* variables): the environment, the volumes holding the
credentials' files, and the checks that stop a render the service would refuse at boot. The
defaults accept this cluster's ServiceAccount tokens: the JWKS comes from the API server, over
the cluster CA, with the Pod's own token, which the ClusterRoleBinding
(service-common.clusterRoleBinding) allows to read it.
*/}}

{{/*
Where the kubelet mounts a Pod's ServiceAccount credentials (token, ca.crt, namespace).
*/}}
{{- define "service-common.serviceAccountDir" -}}
/var/run/secrets/kubernetes.io/serviceaccount
{{- end }}

{{/*
"true" when the service checks JWTs: auth required and auth.jwt enabled.
*/}}
{{- define "service-common.jwtEnabled" -}}
{{- if and (eq .Values.auth.mode "required") .Values.auth.jwt.enabled }}true{{ end }}
{{- end }}

{{/*
"true" when the JWKS (or the discovery document, without jwksUrl) is on the API server, through
its in-cluster Service name (kubernetes, kubernetes.default, kubernetes.default.svc[.<domain>]).
*/}}
{{- define "service-common.jwksFromCluster" -}}
{{- if include "service-common.jwtEnabled" . }}
{{- $url := .Values.auth.jwt.jwksUrl | default .Values.auth.jwt.issuer }}
{{- if regexMatch "^kubernetes(\\.default(\\.svc(\\..+)?)?)?$" (urlParse $url).hostname }}true{{ end }}
{{- end }}
{{- end }}

{{/*
"true" when the chart mounts the Pod's ServiceAccount token and CA itself: the JWKS fetch reads
one of them, and with automountToken false Kubernetes does not mount them.
*/}}
{{- define "service-common.mountsServiceAccountFiles" -}}
{{- $prefix := printf "%s/" (include "service-common.serviceAccountDir" .) }}
{{- $jwt := .Values.auth.jwt }}
{{- if and (include "service-common.jwtEnabled" .) (not .Values.serviceAccount.automountToken) (or (hasPrefix $prefix $jwt.caFile) (hasPrefix $prefix $jwt.tokenFile)) }}true{{ end }}
{{- end }}

{{/*
The principals file: each subject of auth.principals rendered as a template (so it can name
the release's namespace), with its scopes; subjects that render alike share their scopes.
Helm values cannot refer to the release, which is why the keys are templates.
*/}}
{{- define "service-common.principalsJson" -}}
{{- $principals := dict }}
{{- range $subject, $scopes := .Values.auth.principals }}
{{- if $scopes }}
{{- $key := tpl $subject $ }}
{{- $_ := set $principals $key (concat (get $principals $key | default list) $scopes | uniq) }}
{{- end }}
{{- end }}
{{- toPrettyJson $principals }}
{{- end }}

{{/*
"true" when the Pod gets a principals file: JWTs are checked and some subject has scopes.
*/}}
{{- define "service-common.principalsEnabled" -}}
{{- if and (include "service-common.jwtEnabled" .) (ne (include "service-common.principalsJson" .) "{}") }}true{{ end }}
{{- end }}

{{/*
"true" when the Pod mounts the API keys Secret.
*/}}
{{- define "service-common.apiKeysEnabled" -}}
{{- if and (eq .Values.auth.mode "required") .Values.auth.apiKeys.existingSecret }}true{{ end }}
{{- end }}

{{/*
Stops the render where the service would stop at boot, or where a setting would leak the Pod's
token or cut the service off from its JWKS.
*/}}
{{- define "service-common.checkAuth" -}}
{{- $auth := .Values.auth }}
{{- if and (eq $auth.mode "required") (not $auth.jwt.enabled) (not $auth.apiKeys.existingSecret) }}
{{- fail "auth.mode is required but the service would accept no credential: enable auth.jwt, set auth.apiKeys.existingSecret, or set auth.mode=off" }}
{{- end }}
{{- if and (include "service-common.jwtEnabled" .) $auth.jwt.tokenFile (not (include "service-common.jwksFromCluster" .)) }}
{{- fail (printf "auth.jwt.tokenFile would send the Pod's token to %s, which is not the cluster's API server: set auth.jwt.tokenFile=\"\" for an issuer outside the cluster" (urlParse ($auth.jwt.jwksUrl | default $auth.jwt.issuer)).hostname) }}
{{- end }}
{{- if and .Values.networkPolicy.enabled .Values.networkPolicy.egress.enabled (include "service-common.jwksFromCluster" .) (not .Values.networkPolicy.egress.apiServerCidrs) }}
{{- fail "networkPolicy.egress.enabled blocks the JWKS fetch from the API server: list the API server's addresses in networkPolicy.egress.apiServerCidrs (kubectl get endpoints kubernetes --namespace default)" }}
{{- end }}
{{- end }}

{{/*
The AUTH_* variables; an empty setting is left out, so the service applies its default.
*/}}
{{- define "service-common.authEnv" -}}
- name: AUTH_MODE
  value: {{ .Values.auth.mode | quote }}
{{- if include "service-common.jwtEnabled" . }}
{{- with .Values.auth.jwt }}
- name: AUTH_JWT_ISSUER
  value: {{ .issuer | quote }}
{{- with .jwksUrl }}
- name: AUTH_JWT_JWKS_URL
  value: {{ . | quote }}
{{- end }}
{{- with .audience }}
- name: AUTH_JWT_AUDIENCE
  value: {{ . | quote }}
{{- end }}
{{- with .caFile }}
- name: AUTH_JWT_CA_FILE
  value: {{ . | quote }}
{{- end }}
{{- with .tokenFile }}
- name: AUTH_JWT_JWKS_TOKEN_FILE
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- if include "service-common.apiKeysEnabled" . }}
- name: AUTH_API_KEYS_FILE
  value: "/etc/{{ .Chart.Name }}/api-keys/api-keys.json"
{{- end }}
{{- if include "service-common.principalsEnabled" . }}
- name: AUTH_PRINCIPALS_FILE
  value: "/etc/{{ .Chart.Name }}/principals/principals.json"
{{- end }}
{{- end }}

{{/*
The volumes of the credentials' files.
*/}}
{{- define "service-common.authVolumes" -}}
{{- if include "service-common.mountsServiceAccountFiles" . }}
# The files Kubernetes mounts with automountServiceAccountToken, for this container only: the
# token (audience: the API server) the JWKS fetch sends, and the cluster CA it trusts.
- name: kube-api-access
  projected:
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 3600
      - configMap:
          name: kube-root-ca.crt
          items:
            - key: ca.crt
              path: ca.crt
      - downwardAPI:
          items:
            - path: namespace
              fieldRef:
                fieldPath: metadata.namespace
{{- end }}
{{- if include "service-common.apiKeysEnabled" . }}
- name: api-keys
  secret:
    secretName: {{ .Values.auth.apiKeys.existingSecret }}
    items:
      - key: {{ .Values.auth.apiKeys.key }}
        path: api-keys.json
{{- end }}
{{- if include "service-common.principalsEnabled" . }}
- name: principals
  configMap:
    name: {{ include "service-common.fullname" . }}-principals
{{- end }}
{{- end }}

{{/*
Where the container sees them (read-only; mounted volumes, not subPaths, so that Kubernetes
updates them in place and the service re-reads them).
*/}}
{{- define "service-common.authVolumeMounts" -}}
{{- if include "service-common.mountsServiceAccountFiles" . }}
- name: kube-api-access
  mountPath: {{ include "service-common.serviceAccountDir" . }}
  readOnly: true
{{- end }}
{{- if include "service-common.apiKeysEnabled" . }}
- name: api-keys
  mountPath: /etc/{{ .Chart.Name }}/api-keys
  readOnly: true
{{- end }}
{{- if include "service-common.principalsEnabled" . }}
- name: principals
  mountPath: /etc/{{ .Chart.Name }}/principals
  readOnly: true
{{- end }}
{{- end }}

{{/*
NOTES.txt: how a caller outside the cluster gets a credential (into $TOKEN).
*/}}
{{- define "service-common.authNotes" -}}
{{- if eq .Values.auth.mode "required" }}
Every API route needs a credential carrying its scope (auth.mode=required); /health, /ready and
/metrics do not.
{{- if include "service-common.jwksFromCluster" . }}
A token of a ServiceAccount that auth.principals grants scopes:
  TOKEN=$(kubectl --namespace {{ .Release.Namespace }} create token <serviceaccount> --audience {{ .Values.auth.jwt.audience | default .Chart.Name }})
{{- else if .Values.auth.jwt.enabled }}
A token of {{ .Values.auth.jwt.issuer }} for the audience {{ .Values.auth.jwt.audience | default .Chart.Name }}, whose subject auth.principals grants scopes.
{{- end }}
{{- with .Values.auth.apiKeys.existingSecret }}
An API key of the Secret {{ . }}: TOKEN=<id>.<secret>
{{- end }}
{{- end }}
{{- end }}

{{/*
NOTES.txt: the curl option that sends the credential.
*/}}
{{- define "service-common.curlCredential" -}}
{{- if eq .Values.auth.mode "required" }} -H "Authorization: Bearer $TOKEN"{{ end }}
{{- end }}
