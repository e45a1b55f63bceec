{{/*
The Deployment. On SQLite (the default) one single-writer Pod, its database on /data and, with
backup.enabled, its scheduled backups on /backups. On PostgreSQL (database.url or
database.existingSecret, see _database.tpl) neither volume, replicaCount Pods (or as many as the
HorizontalPodAutoscaler sets, which then owns `replicas`) and a RollingUpdate. Calls the service
chart's <chart>.serviceEnv, <chart>.serviceVolumes and <chart>.serviceVolumeMounts for what only
that service has.
*/}}
{{- define "service-common.deployment" -}}
{{- include "service-common.checkShutdownBudget" . }}
{{- include "service-common.checkAuth" . }}
{{- include "service-common.checkDatabase" . }}
{{- include "service-common.checkBackup" . }}
{{- include "service-common.checkRollingUpdate" . }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "service-common.fullname" . }}
  labels:
    {{- include "service-common.labels" . | nindent 4 }}
spec:
  {{- if include "service-common.postgres" . }}
  {{- if .Values.autoscaling.enabled }}
  # No replicas: the HorizontalPodAutoscaler {{ include "service-common.fullname" . }} sets them.
  {{- else }}
  replicas: {{ .Values.replicaCount | int }}
  {{- end }}
  # PostgreSQL takes several replicas: a new Pod starts beside the old ones and must be ready
  # (database reachable and migrated) before one of them stops.
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: {{ .Values.rollingUpdate.maxSurge | toJson }}
      maxUnavailable: {{ .Values.rollingUpdate.maxUnavailable | toJson }}
  {{- else }}
  # SQLite allows one writer: exactly one Pod, and the old one is gone before the new one
  # opens the database (a RollingUpdate would run two Pods on one ReadWriteOnce volume).
  replicas: {{ .Values.replicaCount | int }}
  strategy:
    type: Recreate
  {{- end }}
  revisionHistoryLimit: {{ .Values.revisionHistoryLimit }}
  selector:
    matchLabels:
      {{- include "service-common.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      annotations:
        {{- if .Values.metrics.scrapeAnnotations }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .Values.containerPort | quote }}
        prometheus.io/path: /metrics
        {{- end }}
        {{- if include "service-common.principalsEnabled" . }}
        # A change of the principals rolls the Pod.
        checksum/principals: {{ include "service-common.principalsJson" . | sha256sum }}
        {{- end }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      labels:
        {{- include "service-common.labels" . | nindent 8 }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      serviceAccountName: {{ include "service-common.serviceAccountName" . }}
      automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
      # No docker-link variables (<SERVICE>_PORT=tcp://..., one set per Service in the
      # namespace): they could collide with settings such as LEARNING_EVENTS_URL.
      enableServiceLinks: false
      {{- with .Values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ .Values.shutdown.terminationGracePeriodSeconds }}
      containers:
        - name: {{ .Chart.Name }}
          image: {{ include "service-common.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          {{- with .Values.command }}
          command:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .Values.args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .Values.workingDir }}
          workingDir: {{ . }}
          {{- end }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ .Values.containerPort }}
              protocol: TCP
          env:
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: PORT
              value: {{ .Values.containerPort | quote }}
            {{- include "service-common.databaseEnv" . | trim | nindent 12 }}
            - name: LOG_LEVEL
              value: {{ .Values.config.logLevel | quote }}
            - name: SHUTDOWN_TIMEOUT_MS
              value: {{ mul .Values.shutdown.appTimeoutSeconds 1000 | quote }}
            {{- if .Values.backup.enabled }}
            # Scheduled backups of the database, into the backup volume.
            - name: BACKUP_DIR
              value: {{ include "service-common.backupDir" . | quote }}
            {{- with .Values.backup.intervalSeconds }}
            - name: BACKUP_INTERVAL_SECONDS
              value: {{ . | int64 | quote }}
            {{- end }}
            {{- with .Values.backup.keep }}
            - name: BACKUP_KEEP
              value: {{ . | int64 | quote }}
            {{- end }}
            {{- end }}
            {{- with include (printf "%s.serviceEnv" .Chart.Name) . | trim }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- include "service-common.authEnv" . | trim | nindent 12 }}
            - name: OTEL_SERVICE_NAME
              value: {{ .Values.otel.serviceName | default .Chart.Name | quote }}
            - name: OTEL_RESOURCE_ATTRIBUTES
              value: {{ include "service-common.otelResourceAttributes" . | quote }}
            {{- with .Values.otel.exporterOtlpEndpoint }}
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: {{ . | quote }}
            {{- end }}
            {{- with .Values.otel.exporterOtlpProtocol }}
            - name: OTEL_EXPORTER_OTLP_PROTOCOL
              value: {{ . | quote }}
            {{- end }}
            {{- with .Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          startupProbe:
            httpGet:
              path: /health
              port: http
            {{- toYaml .Values.probes.startup | nindent 12 }}
          livenessProbe:
            httpGet:
              path: /health
              port: http
            {{- toYaml .Values.probes.liveness | nindent 12 }}
          readinessProbe:
            httpGet:
              path: /ready
              port: http
            {{- toYaml .Values.probes.readiness | nindent 12 }}
          {{- if .Values.shutdown.preStopSleepSeconds }}
          lifecycle:
            preStop:
              # Keep serving while the endpoint removal reaches every kube-proxy and ingress,
              # then Kubernetes sends SIGTERM and the service shuts down gracefully.
              exec:
                command: ["sleep", {{ .Values.shutdown.preStopSleepSeconds | quote }}]
          {{- end }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          volumeMounts:
            {{- if not (include "service-common.postgres" .) }}
            - name: data
              mountPath: /data
            {{- end }}
            - name: tmp
              mountPath: /tmp
            {{- if .Values.backup.enabled }}
            - name: backups
              mountPath: {{ include "service-common.backupDir" . }}
            {{- end }}
            {{- with include "service-common.authVolumeMounts" . | trim }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with include (printf "%s.serviceVolumeMounts" .Chart.Name) . | trim }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        {{- if not (include "service-common.postgres" .) }}
        - name: data
          {{- if .Values.persistence.enabled }}
          persistentVolumeClaim:
            claimName: {{ include "service-common.claimName" . }}
          {{- else }}
          emptyDir: {}
          {{- end }}
        {{- end }}
        - name: tmp
          emptyDir:
            sizeLimit: {{ .Values.tmpSizeLimit }}
        {{- if .Values.backup.enabled }}
        - name: backups
          persistentVolumeClaim:
            claimName: {{ include "service-common.backupClaimName" . }}
        {{- end }}
        {{- with include "service-common.authVolumes" . | trim }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with include (printf "%s.serviceVolumes" .Chart.Name) . | trim }}
        {{- . | nindent 8 }}
        {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{/*
A rollout on PostgreSQL must be able to move: Kubernetes refuses maxSurge and maxUnavailable
both 0 (no Pod could be added or removed). On SQLite rollingUpdate is not used.
*/}}
{{- define "service-common.checkRollingUpdate" -}}
{{- $surge := toString .Values.rollingUpdate.maxSurge }}
{{- $unavailable := toString .Values.rollingUpdate.maxUnavailable }}
{{- if and (include "service-common.postgres" .) (has $surge (list "0" "0%")) (has $unavailable (list "0" "0%")) }}
{{- fail "rollingUpdate.maxSurge and rollingUpdate.maxUnavailable are both 0: a rollout could neither start a new Pod nor stop an old one. Keep maxSurge 1 (the default) or allow maxUnavailable" }}
{{- end }}
{{- end }}
