// The values scenarios of every chart: its defaults, and each ci/*-values.yaml file (the
// chart-testing convention).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { allCharts, chartsDir } from './repository.mjs';

export function scenariosOf(chart) {
  const ciDir = join(chartsDir, chart, 'ci');
  const files = readdirSync(ciDir)
    .filter((file) => file.endsWith('-values.yaml'))
    .sort();
  return [
    { chart, name: 'defaults', valuesFiles: [] },
    ...files.map((file) => ({ chart, name: file.replace(/-values\.yaml$/, ''), valuesFiles: [join(ciDir, file)] })),
  ];
}

export const allScenarios = () => allCharts.flatMap(scenariosOf);
