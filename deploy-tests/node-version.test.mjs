// One Node.js major version for the project and its images: .nvmrc names it, package.json's engines
// require it, docker/Dockerfile builds every stage on the Node image of that version (NODE_IMAGE), and
// the local stand-in for that image (docker/build-base-image.sh) carries it under a local name, so that
// it is never taken for the official image.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './support/repository.mjs';

const read = (path) => readFileSync(join(repoRoot, path), 'utf8');
const major = read('.nvmrc').trim();
const dockerfile = read(join('docker', 'Dockerfile'));

test('.nvmrc names a major version, the one package.json engines require', () => {
  expect(major).toMatch(/^\d+$/);
  expect(JSON.parse(read('package.json')).engines.node).toMatch(new RegExp(`^>=\\s*${major}(\\.0){0,2}$`));
});

test('the script that brings Node to older machines, and the Node types, are that version too', () => {
  expect(read(join('scripts', 'use-node-24.sh'))).toMatch(new RegExp(`^\\s*local wanted=${major}$`, 'm'));
  expect(JSON.parse(read('package.json')).devDependencies['@types/node']).toMatch(new RegExp(`^\\^${major}\\.`));
});

test('the Dockerfile builds on the official Node image of that version unless NODE_IMAGE names another', () => {
  const [defaultImage] = [...dockerfile.matchAll(/^ARG NODE_IMAGE=(\S+)\s*$/gm)].map((match) => match[1]);
  expect(defaultImage).toBe(`node:${major}-bookworm-slim`);
});

test('every stage of the Dockerfile starts from NODE_IMAGE or from an earlier stage', () => {
  const fromLines = dockerfile.split('\n').filter((line) => /^FROM\s/i.test(line));
  const stages = [];
  for (const line of fromLines) {
    const [, base, name] = line.match(/^FROM\s+(\S+)\s+AS\s+(\S+)\s*$/i) ?? [];
    const fromEarlierStage =
      stages.includes(base) || (base === 'service-${SERVICE}' && stages.some((stage) => stage.startsWith('service-')));
    expect({ line, named: name !== undefined, base: base === '${NODE_IMAGE}' || fromEarlierStage }).toEqual({
      line,
      named: true,
      base: true,
    });
    stages.push(name);
  }
  expect(stages).toEqual(expect.arrayContaining(['dev', 'runtime']));
});

test('the local stand-in base image is that Node version, under a local name', () => {
  const script = read(join('docker', 'build-base-image.sh'));
  expect(script).toMatch(new RegExp(`^readonly NODE_MAJOR="${major}"$`, 'm'));
  const [, tag] = script.match(/^readonly IMAGE_TAG="([^"]+)"$/m) ?? [];
  expect(tag).toBe(`localhost/learning-analytics/node:${major}-bookworm-slim`);
});
