/**
 * Go build info written the way the Go linker writes it, for tests of the probe's reader without a Go toolchain (no
 * module proxy is reachable where the tests run). Layout, as debug/buildinfo reads it and `go version -m` prints it:
 *
 *   Go 1.18 and later, in the .go.buildinfo section: a 32-byte header ("\xff Go buildinf:", pointer size, flags with
 *   bit 1 = strings inline), then uvarint-length-prefixed strings: the Go version, then the module info.
 *   Before 1.18 the header held pointers and the module info was an ordinary string elsewhere in the binary.
 *   The module info is framed by two 16-byte sentinels and holds tab-separated lines:
 *     path <main package>, mod <module> <version> <sum>, dep <module> <version> <sum>, => <replacement> <version> <sum>,
 *     build <key>=<value>.
 *
 * `packages/probe/scripts/make-go-fixture.sh` builds a real binary the same tests also accept, when Go is installed.
 */
export interface GoModule {
  path: string;
  version: string;
  sum?: string;
  /** A go.mod replace: what was really built. */
  replace?: { path: string; version: string; sum?: string };
}

export const MODINFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
export const MODINFO_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');

function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** The module info text between the sentinels. */
export function modinfo(main: string, deps: GoModule[]): string {
  const lines = [`path\t${main}/cmd/app`, `mod\t${main}\t(devel)\t`];
  for (const d of deps) {
    lines.push(`dep\t${d.path}\t${d.version}\t${d.sum ?? 'h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='}`);
    if (d.replace) lines.push(`=>\t${d.replace.path}\t${d.replace.version}\t${d.replace.sum ?? ''}`.trimEnd());
  }
  lines.push('build\t-compiler=gc', 'build\tCGO_ENABLED=0', 'build\tGOARCH=amd64', 'build\tGOOS=linux');
  return `${lines.join('\n')}\n`;
}

/** The build info blob of Go 1.18+ (header, version, framed module info), 16-byte aligned as in the section. */
export function goBuildInfo(opts: { goVersion?: string; main?: string; deps: GoModule[] }): Buffer {
  const header = Buffer.alloc(32);
  Buffer.from('\xff Go buildinf:', 'latin1').copy(header);
  header[14] = 8;
  header[15] = 0x2;
  const version = Buffer.from(opts.goVersion ?? 'go1.21.5');
  const info = Buffer.concat([
    MODINFO_START,
    Buffer.from(modinfo(opts.main ?? 'example.com/app', opts.deps)),
    MODINFO_END,
  ]);
  return Buffer.concat([header, uvarint(version.length), version, uvarint(info.length), info]);
}

/** The module info of a binary from before Go 1.18: the framed string alone, found by its sentinels. */
export function legacyModinfo(opts: { main?: string; deps: GoModule[] }): Buffer {
  return Buffer.concat([MODINFO_START, Buffer.from(modinfo(opts.main ?? 'example.com/app', opts.deps)), MODINFO_END]);
}

/** An executable-looking file: an ELF header, padding standing in for code, the build info, more bytes after it. */
export function fakeGoBinary(blob: Buffer): Buffer {
  const elf = Buffer.alloc(4096);
  Buffer.from('\x7fELF\x02\x01\x01', 'latin1').copy(elf);
  for (let i = 64; i < elf.length; i++) elf[i] = (i * 7) & 0xff;
  return Buffer.concat([elf, Buffer.alloc((16 - (elf.length % 16)) % 16), blob, Buffer.from('\0\0rest of the data\0')]);
}
