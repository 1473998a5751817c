// The AWS SDK's partition data (regions per partition), read from the installed @aws-sdk/core. Its package exports do
// not expose the file, so it is found next to the package's own package.json (resolved from the engine package, which
// depends on @aws-sdk/core directly).
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** `{ source, partitions: [{ id, regionRegex, regions: [...] }] }`, regions sorted, the `*-global` pseudo-regions left out. */
export async function sdkPartitions() {
  const require = createRequire(new URL('../../packages/engine/package.json', import.meta.url));
  const pkgFile = require.resolve('@aws-sdk/core/package.json');
  const { version } = require('@aws-sdk/core/package.json');
  const file = path.join(path.dirname(pkgFile), 'dist-es/submodules/client/util-endpoints/lib/aws/partitions.js');
  const { partitionsInfo } = await import(pathToFileURL(file).href);
  return {
    source: `@aws-sdk/core ${version} (util-endpoints partitions.json)`,
    partitions: partitionsInfo.partitions.map((p) => ({
      id: p.id,
      regionRegex: p.regionRegex,
      regions: Object.keys(p.regions)
        .filter((r) => !r.endsWith('-global'))
        .sort(),
    })),
  };
}
