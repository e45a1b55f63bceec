{{/*
The PersistentVolumeClaims: the database's (persistence) and the scheduled backups'
(backup.persistence), each kept on uninstall by default and left out for an existing claim.
*/}}

{{/*
The claim of the SQLite database, mounted at /data; none on PostgreSQL.
*/}}
{{- define "service-common.persistentVolumeClaim" -}}
{{- if and .Values.persistence.enabled (not .Values.persistence.existingClaim) (not (include "service-common.postgres" .)) }}
{{- include "service-common.claim" (dict
  "context" .
  "name" (include "service-common.fullname" .)
  "persistence" .Values.persistence
  "accessModes" (list "ReadWriteOnce")
  "comment" "One node mounts the volume: the single SQLite writer.") }}
{{- end }}
{{- end }}

{{/*
The claim of the scheduled backups, mounted at /backups (BACKUP_DIR). A volume of its own, so a
lost or corrupted data volume does not take the backups with it.
*/}}
{{- define "service-common.backupPersistentVolumeClaim" -}}
{{- if and .Values.backup.enabled (not .Values.backup.persistence.existingClaim) }}
{{- include "service-common.claim" (dict
  "context" .
  "name" (include "service-common.backupClaimName" .)
  "persistence" .Values.backup.persistence
  "accessModes" .Values.backup.persistence.accessModes
  "comment" "") }}
{{- end }}
{{- end }}

{{/*
A PersistentVolumeClaim. context: the chart's; persistence: its settings (size, storageClass,
keepOnUninstall, annotations); name, accessModes, and a comment on the access modes.
*/}}
{{- define "service-common.claim" -}}
{{- $persistence := .persistence -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .name }}
  labels:
    {{- include "service-common.labels" .context | nindent 4 }}
  {{- $annotations := $persistence.annotations | default dict }}
  {{- if $persistence.keepOnUninstall }}
  {{- $annotations = merge (dict "helm.sh/resource-policy" "keep") $annotations }}
  {{- end }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .comment }}
  # {{ . }}
  {{- end }}
  accessModes:
    {{- toYaml .accessModes | nindent 4 }}
  {{- if $persistence.storageClass }}
  {{- if eq "-" $persistence.storageClass }}
  storageClassName: ""
  {{- else }}
  storageClassName: {{ $persistence.storageClass | quote }}
  {{- end }}
  {{- end }}
  resources:
    requests:
      storage: {{ $persistence.size | quote }}
{{- end }}

{{/*
Backups on the database's own volume would be lost with it: refuse the data claim as the
backup claim.
*/}}
{{- define "service-common.checkBackup" -}}
{{- if and .Values.backup.enabled .Values.persistence.enabled (eq (include "service-common.backupClaimName" .) (include "service-common.claimName" .)) }}
{{- fail (printf "backup.persistence.existingClaim is %s, the claim of the database: give the backups a volume of their own" (include "service-common.claimName" .)) }}
{{- end }}
{{- end }}
