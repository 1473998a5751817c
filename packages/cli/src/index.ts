/** The oclif entry points live in `src/commands`; this module is what other packages may import from the CLI. */
export { run } from '@oclif/core';
