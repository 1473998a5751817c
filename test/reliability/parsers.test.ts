import {
  isCutoverError,
  parseJournalText,
  parseYamlDocument,
  policyKind,
  redactCommandLine,
} from '@imdsv2-cutover/core';
import { encodeValue, parseProbeOutput } from '@imdsv2-cutover/probe';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tally } from './tally.js';

const RUNS = 300;
const HEADER = 'IMDSV2PROBE 1 probe=1.0.0 platform=linux';

/** Lines that look like probe records, with random keys and values (some encoded, some raw garbage). */
const recordLine = fc
  .tuple(
    fc.constantFrom('HOST', 'V1', 'PARENT', 'V2', 'PKG', 'TOKENS', 'WINDOW', 'NOTE', 'TRUNCATED', 'END', 'XYZ'),
    fc.array(
      fc.tuple(fc.constantFrom('id', 'pid', 'comm', 'argv', 'of', 'records', 'n', 'eco', 'name', 'start'), fc.string()),
      {
        maxLength: 6,
      },
    ),
  )
  .map(([t, kv]) => `${t}${kv.map(([k, v]) => ` ${k}=${v.includes(' ') ? encodeValue(v) : v}`).join('')}`);

describe('parsers never throw and never leak', () => {
  it('probe output: any text gives a valid report (ok, truncated or invalid), never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 2000 }),
          fc.array(recordLine, { maxLength: 30 }).map((l) => [HEADER, ...l].join('\n')),
        ),
        (text) => {
          const r = parseProbeOutput(text);
          expect(['ok', 'truncated', 'invalid']).toContain(r.status);
          if (!text.includes('END ')) expect(r.status).not.toBe('ok');
        },
      ),
      { numRuns: RUNS },
    );
    tally({ badInputs: 2 * RUNS });
  });

  it('probe output cut at any point is truncated or invalid, never ok', () => {
    const full = [
      HEADER,
      'HOST hostname=h',
      'TRACER name=none',
      'V1 id=1 pid=5 comm=curl argv=curl%20x requests=3',
      'END records=3',
    ].join('\n');
    expect(parseProbeOutput(full).status).toBe('ok');
    for (let cut = 0; cut < full.length - 'END records=3'.length; cut++) {
      expect(parseProbeOutput(full.slice(0, cut)).status, `cut at ${cut}`).not.toBe('ok');
    }
    tally({ badInputs: full.length });
  });

  it('secrets in argv are redacted by the parser even when the probe did not', () => {
    const secrets = fc.constantFrom(
      (s: string) => `mysql --password ${s} -h db`,
      (s: string) => `env AWS_SECRET_ACCESS_KEY=${s} aws s3 ls`,
      (s: string) => `curl -H Authorization: Bearer ${s} https://api`,
      (s: string) => `git clone https://user:${s}@host/repo.git`,
      (s: string) => `curl -H X-aws-ec2-metadata-token: ${s} http://169.254.169.254/latest/meta-data/`,
    );
    // No '/' in the secret: inside a URL's userinfo it must be percent-encoded (%2F), or the URL has another host.
    const secret = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9+%._~-]{11,39}$/);
    fc.assert(
      fc.property(secrets, secret, (make, s) => {
        const argv = make(s);
        expect(redactCommandLine(argv)).not.toContain(s);
        const out = [
          HEADER,
          `V1 id=1 pid=1 comm=x argv=${encodeValue(argv)}`,
          `PARENT of=1 pid=2 comm=sh argv=${encodeValue(argv)}`,
          'END records=2',
        ].join('\n');
        const r = parseProbeOutput(out);
        expect(r.status).toBe('ok');
        expect(JSON.stringify(r)).not.toContain(s);
      }),
      { numRuns: RUNS },
    );
    tally({ badInputs: RUNS });
  });

  it('policy YAML: any text is a policy or a CutoverError naming the file', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc
            .jsonValue()
            .map((v) => `schema: { name: imdsv2-cutover/policy, version: 1 }\nwaves: ${JSON.stringify(v)}\n`),
        ),
        (text) => {
          try {
            parseYamlDocument(policyKind, text, 'fuzz-policy.yaml');
          } catch (e) {
            expect(isCutoverError(e), String(e)).toBe(true);
            expect((e as Error).message).toContain('fuzz-policy.yaml');
          }
        },
      ),
      { numRuns: RUNS },
    );
    tally({ badInputs: RUNS });
  });

  it('journal text: any text is parsed or a CutoverError naming the file; a torn last line is never fatal', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string(),
            fc.jsonValue().map((v) => JSON.stringify(v)),
          ),
          { maxLength: 8 },
        ),
        (lines) => {
          try {
            parseJournalText(lines.join('\n'), 'fuzz.jsonl');
          } catch (e) {
            expect(isCutoverError(e), String(e)).toBe(true);
            expect((e as Error).message).toContain('fuzz.jsonl');
          }
        },
      ),
      { numRuns: RUNS },
    );
    tally({ badInputs: RUNS });
  });
});
