import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CutoverError, type Scenario, type ScenarioInput, scenarioKind, validateDocument } from '@imdsv2-cutover/core';
import { parse as parseYaml } from 'yaml';
import { organizationScenario } from './organization.js';

const scenarioDir = new URL('../scenarios/', import.meta.url);

/**
 * Bundled scenarios, shipped in the package's `scenarios/` folder (one YAML file each, named after the file): the demo,
 * the large fleets of the benchmarks, and one per modelled AWS behaviour (docs/simulator.md lists them).
 */
const generated: Record<string, () => ScenarioInput> = {
  /** 1,000 accounts x 4 regions x 25 instances (`organizationScenario`): the organization-scale benchmark. */
  'org-1000': () => organizationScenario(),
};

export const bundledScenarios: readonly string[] = [
  ...readdirSync(scenarioDir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length)),
  ...Object.keys(generated),
].sort();
export type BundledScenario = string;

/** Parses and validates scenario YAML (or JSON) text. */
export function parseScenario(text: string, file: string): Scenario {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    throw new CutoverError('BAD_INPUT', `${file}: not valid YAML (${e instanceof Error ? e.message : String(e)})`, {
      suggestions: scenarioKind.howToMake ? [scenarioKind.howToMake] : [],
      cause: e,
    });
  }
  return validateDocument(scenarioKind, data, file);
}

/** Loads a bundled scenario by name (generated ones such as `org-1000` included), or a scenario file by path. */
export async function loadScenario(nameOrPath: string): Promise<Scenario> {
  const generate = Object.hasOwn(generated, nameOrPath) ? generated[nameOrPath] : undefined;
  if (generate) return scenarioFrom(generate());
  const bundled = bundledScenarios.includes(nameOrPath);
  const url = bundled ? new URL(`${nameOrPath}.yaml`, scenarioDir) : undefined;
  let text: string;
  try {
    text = await readFile(url ?? nameOrPath, 'utf8');
  } catch (e) {
    throw new CutoverError(
      'BAD_INPUT',
      `cannot read scenario ${nameOrPath}: ${e instanceof Error ? e.message : String(e)}`,
      {
        suggestions: [`Give a scenario file path or one of the bundled scenarios: ${bundledScenarios.join(', ')}.`],
        cause: e,
      },
    );
  }
  return parseScenario(text, bundled ? `scenario ${nameOrPath}` : nameOrPath);
}

/** Validates an in-memory scenario (tests build them as objects). */
export function scenarioFrom(input: ScenarioInput): Scenario {
  return validateDocument(scenarioKind, input, 'scenario');
}
