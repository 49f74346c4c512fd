#!/usr/bin/env node
// The `arbor` command: cli/main.ts through tsx, in this same process (signals and exit codes stay its own).
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
