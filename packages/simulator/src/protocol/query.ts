import { ServiceError } from './errors.js';

/** A form-encoded query request (EC2 query and awsQuery). */
export class QueryParams {
  private readonly map: Map<string, string>;

  constructor(body: string) {
    this.map = new Map(new URLSearchParams(body));
  }

  get(name: string): string | undefined {
    return this.map.get(name);
  }

  require(name: string): string {
    const v = this.map.get(name);
    if (v === undefined || v === '')
      throw new ServiceError('MissingParameter', `The request must contain the parameter ${name}`);
    return v;
  }

  /** Every parameter, in request order. */
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }

  bool(name: string): boolean {
    return this.map.get(name) === 'true';
  }

  /** EC2 lists: `Name.1`, `Name.2`, ... in index order. */
  list(name: string): string[] {
    return this.indexed(`${name}.`);
  }

  /** awsQuery lists: `Name.member.1`, ... */
  members(name: string): string[] {
    return this.indexed(`${name}.member.`);
  }

  /** EC2 filters: `Filter.N.Name` and `Filter.N.Value.M`. */
  filters(): { name: string; values: string[] }[] {
    const out: { name: string; values: string[] }[] = [];
    for (let i = 1; ; i++) {
      const name = this.map.get(`Filter.${i}.Name`);
      if (name === undefined) break;
      out.push({ name, values: this.list(`Filter.${i}.Value`) });
    }
    return out;
  }

  private indexed(prefix: string): string[] {
    const found: [number, string][] = [];
    for (const [k, v] of this.map) {
      if (!k.startsWith(prefix)) continue;
      const rest = k.slice(prefix.length);
      if (/^\d+$/.test(rest)) found.push([Number(rest), v]);
    }
    return found.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  }
}
