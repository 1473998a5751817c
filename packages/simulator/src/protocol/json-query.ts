import type { Call, JsonHandler, QueryHandler } from '../context.js';
import type { QueryParams } from './query.js';
import { escapeXml } from './xml.js';

/**
 * Bridges awsQuery and JSON for services that speak both (CloudWatch): a form request becomes the JSON-shaped input
 * (`A.member.1.B` -> `{A: [{B}]}`), and the JSON-shaped output becomes awsQuery XML (`<member>` lists, ISO times).
 */
export function queryToObject(entries: Iterable<[string, string]>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    if (key === 'Action' || key === 'Version') continue;
    const parts = key.split('.');
    let cur: Record<string, unknown> | unknown[] = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const last = i === parts.length - 1;
      if (part === 'member' || part === 'entry') continue;
      const isIndex = /^\d+$/.test(part);
      const k: string | number = isIndex ? Number(part) - 1 : part;
      const nextIsIndex = !last && (parts[i + 1] === 'member' || /^\d+$/.test(parts[i + 1]!));
      const container = cur as Record<string | number, unknown>;
      if (last) container[k] = value;
      else {
        container[k] ??= nextIsIndex ? [] : {};
        cur = container[k] as Record<string, unknown> | unknown[];
      }
    }
  }
  return root;
}

/** Output values as awsQuery XML: arrays as `<member>`, Dates as ISO-8601. */
export function objectToXml(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => `<member>${objectToXml(v)}</member>`).join('');
  if (typeof value === 'object') {
    let out = '';
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out += `<${k}>${objectToXml(v)}</${k}>`;
    return out;
  }
  return escapeXml(typeof value === 'string' ? value : JSON.stringify(value));
}

/** JSON text for AWS JSON protocols: Dates as epoch seconds. */
export function awsJsonStringify(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : v;
  });
}

/** A query handler that runs a JSON handler. */
export function queryFromJson(handler: JsonHandler): QueryHandler {
  return async (call: Call, p: QueryParams) => objectToXml(await handler(call, queryToObject(p.entries())));
}
