#!/usr/bin/env node
import { execute } from '@oclif/core';

// The AWS SDK warns on every run under Node 20 that its releases after January 2027 will need Node 22. This tool pins
// its SDK version and supports Node 20.19+, so the warning is for the tool's maintainers, not its users. A user who
// sets the variable keeps their own choice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

await execute({ dir: import.meta.url });
