{{/*
The `helm test` Pod: GET /ready of the Service.
*/}}
{{- define "service-common.testReadyPod" -}}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "service-common.fullname" . }}-test-ready
  labels:
    {{- include "service-common.testLabels" . | nindent 4 }}
  annotations:
    "helm.sh/hook": test
    "helm.sh/hook-delete-policy": before-hook-creation
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  enableServiceLinks: false
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    # The service's own image: it has Node (and so fetch), and it is already on the node.
    - name: ready
      image: {{ include "service-common.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      env:
        - name: READY_URL
          value: "http://{{ include "service-common.fullname" . }}:{{ .Values.service.port }}/ready"
      command:
        - node
        - --input-type=module
        - --eval
        - |
          const url = process.env.READY_URL;
          const response = await fetch(url, { signal: AbortSignal.timeout(10000) });
          console.log(`${url} answered ${response.status}: ${await response.text()}`);
          process.exit(response.ok ? 0 : 1);
      resources:
        requests:
          cpu: 10m
          memory: 32Mi
        limits:
          memory: 128Mi
{{- end }}
