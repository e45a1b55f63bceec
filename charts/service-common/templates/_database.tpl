{{/*
The database (DATABASE_URL and the DATABASE_* settings). By default SQLite, a file on the data
volume at /data (persistence): one replica, `strategy: Recreate`. With database.url or
database.existingSecret, PostgreSQL: the Pod then has no data volume and the chart creates no
data claim (the root filesystem stays read-only; /tmp keeps its emptyDir), and the Deployment may
run several replicas (replicaCount, or autoscaling) with a RollingUpdate and a
PodDisruptionBudget: the Logger's feed is commit-safe across writers, and only the Brain replica
holding the consumer's advisory lock applies the feed.
*/}}

{{/*
"true" when the database is PostgreSQL.
*/}}
{{- define "service-common.postgres" -}}
{{- if or .Values.database.url .Values.database.existingSecret }}true{{ end }}
{{- end }}

{{/*
The PostgreSQL settings of database.*, each with its variable; null means the service's default.
*/}}
{{- define "service-common.postgresSettings" -}}
{{- $database := .Values.database }}
{{- toJson (list
  (list "poolSize" "DATABASE_POOL_SIZE" $database.poolSize)
  (list "statementTimeoutMs" "DATABASE_STATEMENT_TIMEOUT_MS" $database.statementTimeoutMs)
  (list "connectTimeoutMs" "DATABASE_CONNECT_TIMEOUT_MS" $database.connectTimeoutMs)) }}
{{- end }}

{{/*
DATABASE_URL, and the PostgreSQL settings that are set. The URL comes from the Secret
(existingSecret) or from database.url, which lands in the Deployment in clear.
*/}}
{{- define "service-common.databaseEnv" -}}
{{- $database := .Values.database }}
{{- if $database.existingSecret }}
# PostgreSQL; the URL, password included, from the Secret.
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $database.existingSecret }}
      key: {{ $database.existingSecretKey }}
{{- else if $database.url }}
# PostgreSQL (database.url).
- name: DATABASE_URL
  value: {{ $database.url | quote }}
{{- else }}
- name: DATABASE_URL
  value: "sqlite:/data/{{ .Chart.Name }}.db"
{{- end }}
{{- /* Whole numbers (YAML numbers are floats in templates); 0 is a setting too (no statement timeout). */}}
{{- range include "service-common.postgresSettings" . | fromJsonArray }}
{{- if not (kindIs "invalid" (index . 2)) }}
- name: {{ index . 1 }}
  value: {{ index . 2 | int64 | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Stops the render where the database settings cannot work: the service would refuse them, or
they need the other engine (several replicas, autoscaling: PostgreSQL).
*/}}
{{- define "service-common.checkDatabase" -}}
{{- $database := .Values.database }}
{{- $postgres := include "service-common.postgres" . }}
{{- if and $database.url $database.existingSecret }}
{{- fail "database.url and database.existingSecret both name the PostgreSQL database: set only one (existingSecret for a URL that holds a password)" }}
{{- end }}
{{- if not $postgres }}
{{- if ne (int .Values.replicaCount) 1 }}
{{- fail (printf "replicaCount is %d: SQLite has a single writer, so the chart runs one replica on SQLite; several replicas need PostgreSQL (database.existingSecret or database.url). Set replicaCount=1" (int .Values.replicaCount)) }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- fail "autoscaling.enabled scales the Deployment out, but SQLite has a single writer and the chart runs one replica on it: autoscaling needs PostgreSQL (database.existingSecret or database.url). Set autoscaling.enabled=false" }}
{{- end }}
{{- end }}
{{- if and $postgres .Values.backup.enabled }}
{{- fail "backup.enabled takes scheduled backups of an SQLite database, and the service refuses BACKUP_DIR with PostgreSQL: back PostgreSQL up with its own tools (pg_dump, or base backups with WAL archiving), and set backup.enabled=false" }}
{{- end }}
{{- if not $postgres }}
{{- range include "service-common.postgresSettings" . | fromJsonArray }}
{{- if not (kindIs "invalid" (index . 2)) }}
{{- fail (printf "database.%s is a PostgreSQL setting, but the database is SQLite: set database.existingSecret (or database.url) too, or leave database.%s null" (index . 0) (index . 0)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
NOTES.txt: where the PostgreSQL URL comes from (never the URL itself: it may hold a password),
and how many replicas run on it.
*/}}
{{- define "service-common.notes.database" -}}
{{- $database := .Values.database }}
{{- if $database.existingSecret }}
The database is PostgreSQL: DATABASE_URL comes from key {{ $database.existingSecretKey }} of the Secret {{ $database.existingSecret }},
which must exist before the Pod can start:
  kubectl --namespace {{ .Release.Namespace }} create secret generic {{ $database.existingSecret }} --from-literal={{ $database.existingSecretKey }}='postgres://<user>:<password>@<host>:5432/<database>'
The service reads it at start: after changing the Secret, restart it with
  kubectl --namespace {{ .Release.Namespace }} rollout restart deployment/{{ include "service-common.fullname" . }}
{{- else if $database.url }}
The database is PostgreSQL, at database.url.
WARNING: database.url is written into the Deployment, in clear for anyone who may read it. For a URL
holding a password, put it in a Secret and set database.existingSecret instead.
{{- end }}
{{- if include "service-common.postgres" . }}
{{- if .Values.autoscaling.enabled }}
It runs {{ .Values.autoscaling.minReplicas }} to {{ .Values.autoscaling.maxReplicas }} replicas, as many as the HorizontalPodAutoscaler sets
(for an average CPU use of {{ .Values.autoscaling.targetCPUUtilizationPercentage }}% of the request),
{{- else }}
It runs {{ .Values.replicaCount }} replica(s),
{{- end }} rolled out with a RollingUpdate{{ if .Values.podDisruptionBudget.enabled }}; the PodDisruptionBudget
{{ include "service-common.fullname" . }} limits how many of them a node drain may evict at once{{ end }}.
{{- end }}
{{- end }}
