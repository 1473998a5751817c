/**
 * Removes secrets from a process command line (or any one-line text from a host) before it is stored or shown. The
 * probe redacts on the host already; the parser calls this again so that an old or tampered probe cannot leak a secret
 * into an assessment. Redacted values become `***`; the option names stay so a reader still sees what was passed.
 */

const MASK = '***';

/** Option names whose value is a secret, for any tool. Matched as `--name value` and `--name=value`. */
const SECRET_LONG_OPTIONS = [
  'password',
  'passwd',
  'pass',
  'secret',
  'secret-key',
  'secret-access-key',
  'aws-secret-access-key',
  'token',
  'session-token',
  'api-key',
  'apikey',
  'access-token',
  'auth-token',
  'client-secret',
  'private-key',
];

/** Tools whose short `-p` means a password (mysql -pSECRET / -p SECRET, sshpass -p, redis-cli -a...). */
const SHORT_PASSWORD_TOOLS = new Map<string, string[]>(
  Object.entries({
    mysql: ['-p'],
    mysqldump: ['-p'],
    mysqladmin: ['-p'],
    mariadb: ['-p'],
    sshpass: ['-p'],
    'redis-cli': ['-a'],
    smbclient: ['-U'],
  }),
);

const ENV_SECRETS =
  /\b((?:AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_SECURITY_TOKEN|[A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN|API_KEY))=)(\S+)/g;
const HEADERS =
  /\b(Authorization:\s*(?:Bearer|Basic|Token)?\s*|X-aws-ec2-metadata-token:\s*|X-Amz-Security-Token:\s*)([^\s'"]+)/gi;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+):([^\s/@]+)@/gi;
const QUERY_SECRETS =
  /([?&;](?:token|secret|apikey|api_key|access_token|password|sig|signature|X-Amz-Signature|X-Amz-Security-Token)=)([^&\s#'"]+)/gi;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const LONG_OPTION = new RegExp(
  `(^|\\s)(--?(?:${SECRET_LONG_OPTIONS.map(escapeRegExp).join('|')}))(=|\\s+)(?!-)(\\S+)`,
  'gi',
);

function redactShortOptions(s: string): string {
  const words = s.split(/(\s+)/);
  const tool = (words[0] ?? '').split('/').pop() ?? '';
  const shorts = SHORT_PASSWORD_TOOLS.get(tool);
  if (!shorts) return s;
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? '';
    for (const opt of shorts) {
      if (w === opt && i + 2 < words.length && !(words[i + 2] ?? '').startsWith('-')) {
        words[i + 2] = MASK;
      } else if (w.startsWith(opt) && w.length > opt.length && !w.startsWith('--')) {
        words[i] = opt + MASK;
      }
    }
  }
  return words.join('');
}

/** Returns `s` with secret values replaced by `***`. Pure; safe on any input. */
export function redactCommandLine(s: string): string {
  let out = s;
  out = out.replace(HEADERS, (_m, name: string) => `${name}${MASK}`);
  out = out.replace(URL_USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:${MASK}@`);
  out = out.replace(QUERY_SECRETS, (_m, key: string) => `${key}${MASK}`);
  out = out.replace(ENV_SECRETS, (_m, key: string) => `${key}${MASK}`);
  out = out.replace(LONG_OPTION, (_m, pre: string, opt: string, sep: string) => `${pre}${opt}${sep}${MASK}`);
  out = redactShortOptions(out);
  return out;
}
