{{/*
What only the umbrella chart knows: how its two services are wired together.
*/}}

{{/*
The name of the Brain's ServiceAccount in this release, with the concept-mastery chart's
defaults (its fullname: <release>-concept-mastery, or the release name when that already
contains "concept-mastery"). Called from the key of learning-events.auth.principals in
values.yaml, which the Logger chart renders in its own context: it uses .Release only, and
nothing of the Brain chart, which is left out when concept-mastery.enabled is false.
*/}}
{{- define "learning-analytics.conceptMasteryServiceAccount" -}}
{{- if contains "concept-mastery" .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-concept-mastery" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/*
Stops the render when the Brain could not read from the Logger of this release: the Brain
shows a ServiceAccount token (concept-mastery.learningEvents.auth.mode serviceAccountToken) to
a Logger that requires a credential, so the Logger must accept JWTs, for the audience the token
is issued for, and its principals must grant the Brain's real ServiceAccount events:read (the
default entry names the default ServiceAccount; concept-mastery.serviceAccount.name or
fullnameOverride change it). The names and the principals are computed by the service charts'
own templates, from their library service-common (loaded with either service chart; this
check runs only when both are on), each called with that service's values and chart name.
*/}}
{{- define "learning-analytics.checkBrainCanReadEvents" -}}
{{- $logger := index .Values "learning-events" }}
{{- $brain := index .Values "concept-mastery" }}
{{- $credential := $brain.learningEvents.auth.mode }}
{{- if and $logger.enabled $brain.enabled (not $brain.learningEvents.url) (eq $credential "serviceAccountToken") (eq $logger.auth.mode "required") }}
{{- if not $logger.auth.jwt.enabled }}
{{- fail "the Brain shows the Logger a ServiceAccount token, but learning-events.auth.jwt is off: enable it, or give the Brain an API key (concept-mastery.learningEvents.auth.mode=apiKey)" }}
{{- end }}
{{- $audience := $logger.auth.jwt.audience | default "learning-events" }}
{{- if ne $brain.learningEvents.auth.tokenAudience $audience }}
{{- fail (printf "the Brain's token is issued for audience %s, but the Logger accepts %s: set concept-mastery.learningEvents.auth.tokenAudience=%s" $brain.learningEvents.auth.tokenAudience $audience $audience) }}
{{- end }}
{{- $brainContext := dict "Values" $brain "Release" .Release "Chart" (dict "Name" "concept-mastery") }}
{{- $serviceAccount := include "service-common.serviceAccountName" $brainContext }}
{{- $subject := printf "system:serviceaccount:%s:%s" .Release.Namespace $serviceAccount }}
{{- $loggerContext := dict "Values" $logger "Release" .Release "Chart" (dict "Name" "learning-events") "Template" .Template "Capabilities" .Capabilities }}
{{- $scopes := get (include "service-common.principalsJson" $loggerContext | fromJson) $subject | default list }}
{{- if not (or (has "events:read" $scopes) (has "admin" $scopes)) }}
{{- fail (printf "the Brain runs as ServiceAccount %s, which learning-events.auth.principals does not grant events:read: add \"system:serviceaccount:{{ .Release.Namespace }}:%s\": [events:read] to it" $serviceAccount $serviceAccount) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Stops the render when both services would use the same PostgreSQL database: database.urls that
name the same database on the same server, or the same key of the same Secret. Each service's
migrations and their record (knex_migrations) assume a database of its own; two databases on one
server are fine, and so is each service running several replicas on its own database. (Two
Secrets, or two keys, holding the same URL cannot be seen from here.)
*/}}
{{- define "learning-analytics.checkSeparateDatabases" -}}
{{- $logger := index .Values "learning-events" }}
{{- $brain := index .Values "concept-mastery" }}
{{- if and $logger.enabled $brain.enabled }}
{{- $a := $logger.database }}
{{- $b := $brain.database }}
{{- if and $a.url $b.url }}
{{- $databaseA := include "learning-analytics.postgresDatabase" $a.url | fromJson }}
{{- $databaseB := include "learning-analytics.postgresDatabase" $b.url | fromJson }}
{{- if eq (toJson $databaseA) (toJson $databaseB) }}
{{- fail (printf "learning-events.database.url and concept-mastery.database.url name the same database, %s on %s:%s: give each service a database of its own (their tables and migrations would collide); two databases on one server are fine" $databaseA.name $databaseA.host $databaseA.port) }}
{{- end }}
{{- end }}
{{- if and $a.existingSecret (eq $a.existingSecret $b.existingSecret) (eq $a.existingSecretKey $b.existingSecretKey) }}
{{- fail (printf "learning-events and concept-mastery both read DATABASE_URL from key %s of the Secret %s: give each service a database of its own, under a key of its own (database.existingSecretKey, e.g. learning-events-url and concept-mastery-url)" $a.existingSecretKey $a.existingSecret) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The database a PostgreSQL URL names, as libpq reads it, in JSON: {host, port, name}. The host is
compared without case, the port defaults to 5432, and a URL without a database names the
database of its user's name (postgres://logger@postgres is database logger). The user, the
password and the parameters (sslmode) do not change which database it is.
*/}}
{{- define "learning-analytics.postgresDatabase" -}}
{{- $url := urlParse . }}
{{- $port := regexFind ":[0-9]+$" $url.host | trimPrefix ":" | default "5432" }}
{{- $name := trimPrefix "/" $url.path | default (splitList ":" $url.userinfo | first) }}
{{- toJson (dict "host" (lower $url.hostname) "port" $port "name" $name) }}
{{- end }}
