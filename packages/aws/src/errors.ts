/** The code and message of an AWS SDK or network error, as the assessment records it. */
export function errorInfo(e: unknown): { code: string; message: string } {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const name = e.name && e.name !== 'Error' ? e.name : typeof code === 'string' ? code : 'Error';
    const message = e.message || (e instanceof AggregateError ? e.errors.map(String).join('; ') : String(e));
    return { code: name, message };
  }
  return { code: 'Error', message: String(e) };
}
