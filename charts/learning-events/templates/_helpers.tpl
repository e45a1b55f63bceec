{{/*
Every object of this chart comes from the library chart service-common (charts/service-common):
its names, labels and templates use this chart's .Chart.Name and values. The templates/*.yaml
files here are one include each; what differs for the Logger is defined here, in _env.tpl and
in _networkpolicy.tpl, under the names the library asks for (<chart>.nickname,
<chart>.serviceEnv, <chart>.serviceVolumes, <chart>.serviceVolumeMounts,
<chart>.networkPolicyPeers, <chart>.networkPolicyEgress).
*/}}

{{/*
What the rendered comments call this service.
*/}}
{{- define "learning-events.nickname" -}}
Logger
{{- end }}
