import { readFile } from 'node:fs/promises';
import { CutoverError, type Scenario, type ScenarioInput, scenarioKind, validateDocument } from '@imdsv2-cutover/core';
import { parse as parseYaml } from 'yaml';

/** Bundled scenarios, shipped in the package's `scenarios/` folder. */
export const bundledScenarios = [
  'demo',
  'large-10k',
  'large-100k',
  'launch-rehearsal',
  'templates-and-images',
] as const;
export type BundledScenario = (typeof bundledScenarios)[number];

const scenarioDir = new URL('../scenarios/', import.meta.url);

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

/** Loads a bundled scenario by name, or a scenario file by path. */
export async function loadScenario(nameOrPath: string): Promise<Scenario> {
  const bundled = (bundledScenarios as readonly string[]).includes(nameOrPath);
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
