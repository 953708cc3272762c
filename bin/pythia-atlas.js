#!/usr/bin/env node
// The headless CLI entry (`npx pythia-atlas ...`): loads the TypeScript sources through tsx so the
// CLI needs no build step. See main/cli.ts.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../main/cli.ts');
process.exitCode = await main(process.argv.slice(2));
